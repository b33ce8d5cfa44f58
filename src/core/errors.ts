/**
 * An expected failure: its message is the one line the CLI prints (and logs), naming the
 * operation, the object and the cause. No stack trace is shown for it.
 */
export class HakoError extends Error {
  /** `exitCode` is the status the CLI exits with when this error ends the command. */
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'HakoError';
  }
}
