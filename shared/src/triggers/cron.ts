/**
 * Cron patterns of schedules, read by cron-parser (the parser BullMQ's job schedulers use, so
 * that the api checks a pattern exactly as the fleet will run it).
 */
import { CronExpressionParser, type CronFieldCollection } from 'cron-parser';

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
  let shortestMs: number;
  try {
    const interval = CronExpressionParser.parse(input.cron, { currentDate: input.now, tz: input.timezone });
    // A pattern that parses may still name no date (cron-parser gives up looking).
    interval.next();
    shortestMs = shortestGapSeconds(interval.fields) * 1000;
  } catch (err) {
    return { path: '/cron', message: `invalid cron pattern: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (shortestMs < input.minIntervalSeconds * 1000) {
    return {
      path: '/cron',
      message: `the pattern may fire ${shortestMs / 1000} s apart; schedules may fire at most every ${input.minIntervalSeconds} s (WEFT_SCHEDULE_MIN_INTERVAL_SECONDS)`,
      tooFrequent: true,
    };
  }
  return null;
}

/**
 * A lower bound of the time between two ticks of a pattern, read from its fields (iterating the
 * ticks costs far more, and a request must not buy that): the closest two values of the finest
 * field that has several, wrapping around (a pattern whose next minute does not fire is judged as
 * if it did); a pattern with one second, one minute and one hour fires at most daily.
 */
function shortestGapSeconds(fields: CronFieldCollection): number {
  const levels: ReadonlyArray<{ values: readonly (number | string)[]; span: number; unit: number }> = [
    { values: fields.second.values, span: 60, unit: 1 },
    { values: fields.minute.values, span: 60, unit: 60 },
    { values: fields.hour.values, span: 24, unit: 3600 },
  ];
  for (const { values, span, unit } of levels) {
    const sorted = [...new Set(values.filter((v): v is number => typeof v === 'number'))].sort((x, y) => x - y);
    const first = sorted[0];
    const last = sorted[sorted.length - 1];
    if (sorted.length < 2 || first === undefined || last === undefined) continue;
    let gap = span - last + first;
    for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, (sorted[i] ?? 0) - (sorted[i - 1] ?? 0));
    return gap * unit;
  }
  return 86_400;
}
