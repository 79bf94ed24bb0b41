-- List prices in USD per 1M tokens (input, output, reasoning, cached input) of the common
-- models of the three providers, as published by OpenAI, Anthropic and Google in late 2025.
-- All three bill reasoning ("thinking") tokens as output, so reasoning = output. Cached input
-- is the cache-read price; Anthropic's cache writes and Gemini 2.5 Pro's higher price above
-- 200k prompt tokens are not modelled. ON CONFLICT DO NOTHING: a price an operator set with
-- PUT /v1/models/:provider/:model is never overwritten when this seed runs.
INSERT INTO "model_pricing" ("provider", "model", "input_per_1m", "output_per_1m", "reasoning_per_1m", "cached_per_1m") VALUES
	('openai', 'gpt-4o', 2.5, 10, 10, 1.25),
	('openai', 'gpt-4o-mini', 0.15, 0.6, 0.6, 0.075),
	('openai', 'gpt-4.1', 2, 8, 8, 0.5),
	('openai', 'gpt-4.1-mini', 0.4, 1.6, 1.6, 0.1),
	('openai', 'gpt-4.1-nano', 0.1, 0.4, 0.4, 0.025),
	('openai', 'o3', 2, 8, 8, 0.5),
	('openai', 'o4-mini', 1.1, 4.4, 4.4, 0.275),
	('openai', 'gpt-5', 1.25, 10, 10, 0.125),
	('openai', 'gpt-5-mini', 0.25, 2, 2, 0.025),
	('openai', 'gpt-5-nano', 0.05, 0.4, 0.4, 0.005),
	('anthropic', 'claude-opus-4-1', 15, 75, 75, 1.5),
	('anthropic', 'claude-sonnet-4-5', 3, 15, 15, 0.3),
	('anthropic', 'claude-sonnet-4', 3, 15, 15, 0.3),
	('anthropic', 'claude-haiku-4-5', 1, 5, 5, 0.1),
	('anthropic', 'claude-3-5-haiku', 0.8, 4, 4, 0.08),
	('gemini', 'gemini-2.5-pro', 1.25, 10, 10, 0.31),
	('gemini', 'gemini-2.5-flash', 0.3, 2.5, 2.5, 0.075),
	('gemini', 'gemini-2.5-flash-lite', 0.1, 0.4, 0.4, 0.025),
	('gemini', 'gemini-2.0-flash', 0.1, 0.4, 0.4, 0.025)
ON CONFLICT ("provider", "model") DO NOTHING;
