import type { CoreDeps, Infrastructure } from '@weft/shared/infrastructure';
import type { RunEngine } from '@weft/shared/run-engine';

/** A dependency `/health/ready` probes; `check` throws when the dependency is unreachable. */
export interface ReadinessCheck {
  /** Key in the readiness answer, e.g. `redis`. */
  name: string;
  check: () => Promise<void>;
}

/** Everything the api needs, built once by its composition root and passed to buildApp(). */
export interface ApiDeps extends CoreDeps {
  /** The engine facade: start, cancel, retry, resume and replay go through it. */
  engine: RunEngine;
  /**
   * Extra dependencies probed by `/health/ready` besides the database (which is always
   * probed as `postgres`), e.g. `{name: 'redis', check: () => redis.ping()}`.
   */
  readiness?: readonly ReadinessCheck[];
  /** Distributed mode: the Redis command connection; request rate limits count there, shared by every api instance. */
  redis?: Infrastructure['redis'];
}
