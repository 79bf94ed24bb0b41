import { WeftError } from '@weft/shared/errors';

/**
 * The master key rows are sealed with and the version they carry, as the repos that seal
 * (credentials, secrets) hold it. The key is null when WEFT_MASTER_KEY is not configured:
 * listing and deleting still work, sealing and reading throw.
 */
export class SealingKey {
  constructor(
    private readonly key: Buffer | null,
    /** The version new rows carry (the key generation that seals them). */
    readonly version = 1,
  ) {}

  /** The key, or CONFIG_INVALID naming what needed it. */
  require(what: string): Buffer {
    if (this.key === null) throw new WeftError('CONFIG_INVALID', `WEFT_MASTER_KEY is required to store or read ${what}`);
    return this.key;
  }
}
