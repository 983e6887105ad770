/** What went wrong while building, using or tearing down a simulated internet. */
export type NetsimErrorCode =
  /** Namespaces, NAT rules and qdiscs need root. */
  | 'NOT_ROOT'
  /** A program the harness runs (ip, nft, tc, turnserver, chromium) is not installed. */
  | 'MISSING_TOOL'
  /** `internet()` was given options it cannot build. */
  | 'BAD_OPTIONS'
  /** A place name that is neither 'pub', a home, nor `<home>/router`. */
  | 'UNKNOWN_PLACE'
  /** A command run inside a namespace exited with an error. */
  | 'COMMAND_FAILED'
  /** coturn exited or never listened. */
  | 'TURN_START_FAILED'
  /** The internet was used after `close()`. */
  | 'CLOSED';

/** The one error type of `test/netsim`; switch on `code`. */
export class NetsimError extends Error {
  override name = 'NetsimError';
  constructor(
    readonly code: NetsimErrorCode,
    message: string,
  ) {
    super(message);
  }
}
