/**
 * Cron patterns of schedules, read by cron-parser (the parser BullMQ's job schedulers use, so
 * that the api checks a pattern exactly as the fleet will run it).
 */
import { CronExpressionParser } from 'cron-parser';

/**
 * Ticks looked at to find a pattern's shortest interval: those of the next 8 days (a week's
 * pattern repeats within them), at most 1500 (past that, the gaps seen are short already).
 */
const INTERVAL_SAMPLE = 1500;
const INTERVAL_WINDOW_MS = 8 * 86_400_000;

export interface CronProblem {
  /** JSON pointer into the request body. */
  path: '/cron' | '/timezone';
  message: string;
  /** Set when the pattern is valid but fires too often. */
  tooFrequent?: boolean;
}

/** Whether `timezone` is an IANA zone this runtime knows. */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The first time strictly after `after` that the pattern names, in its time zone. */
export function nextCronTime(input: { cron: string; timezone: string; after: Date }): Date {
  return CronExpressionParser.parse(input.cron, { currentDate: input.after, tz: input.timezone }).next().toDate();
}

/** The last time at or before `at` that the pattern names; null when there is none. */
export function previousCronTime(input: { cron: string; timezone: string; at: Date }): Date | null {
  try {
    // prev() is strictly before currentDate: start a millisecond later to include `at`.
    return CronExpressionParser.parse(input.cron, { currentDate: new Date(input.at.getTime() + 1), tz: input.timezone }).prev().toDate();
  } catch {
    return null;
  }
}

/**
 * Checks a schedule's pattern and time zone: null when valid and no more frequent than
 * `minIntervalSeconds` (between any two of its next ticks), else the problem with its path.
 */
export function checkCron(input: { cron: string; timezone: string; minIntervalSeconds: number; now: Date }): CronProblem | null {
  if (!isTimeZone(input.timezone)) return { path: '/timezone', message: `unknown time zone '${input.timezone}' (an IANA name such as Europe/Paris)` };
  const fields = input.cron.trim().split(/\s+/);
  if (!input.cron.trim().startsWith('@') && (fields.length < 5 || fields.length > 6)) {
    return { path: '/cron', message: 'a cron pattern has 5 fields (minute hour day month weekday), or 6 with seconds first' };
  }
  let ticks: Date[];
  try {
    const interval = CronExpressionParser.parse(input.cron, { currentDate: input.now, tz: input.timezone, strict: false });
    ticks = [];
    const end = input.now.getTime() + INTERVAL_WINDOW_MS;
    while (ticks.length < INTERVAL_SAMPLE && interval.hasNext()) {
      const tick = interval.next().toDate();
      ticks.push(tick);
      if (tick.getTime() > end) break;
    }
  } catch (err) {
    return { path: '/cron', message: `invalid cron pattern: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (ticks.length === 0) return { path: '/cron', message: 'the cron pattern never fires' };
  let shortestMs = Number.POSITIVE_INFINITY;
  for (let i = 1; i < ticks.length; i++) {
    const a = ticks[i - 1];
    const b = ticks[i];
    if (a && b) shortestMs = Math.min(shortestMs, b.getTime() - a.getTime());
  }
  if (shortestMs < input.minIntervalSeconds * 1000) {
    return {
      path: '/cron',
      message: `the pattern fires every ${shortestMs / 1000} s at times; schedules may fire at most every ${input.minIntervalSeconds} s (WEFT_SCHEDULE_MIN_INTERVAL_SECONDS)`,
      tooFrequent: true,
    };
  }
  return null;
}
