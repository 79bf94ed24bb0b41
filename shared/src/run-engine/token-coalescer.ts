/**
 * Streams node.token events without flooding clients: deltas are buffered and published at
 * most once per interval, in order, and flushed before the node commits.
 */
export class TokenCoalescer {
  private buffer = '';
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly publish: (text: string) => Promise<void>,
    private readonly intervalMs = 100,
  ) {}

  push(text: string): void {
    this.buffer += text;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.drain();
    }, this.intervalMs);
  }

  /** Publishes what is buffered and waits for every publish so far. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.drain();
    await this.chain;
  }

  private drain(): void {
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    // Token events are best effort: a failed publish must not fail the node.
    this.chain = this.chain.then(() => this.publish(text)).catch(() => undefined);
  }
}
