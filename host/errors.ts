// Errors that are the user's input, not our bug: the command line prints `message` on one line
// and exits with status 2, with no stack trace and without writing any output file.

export class InputError extends Error {
  /** The file, field or argument at fault, e.g. "boards/x.json: nand.pageBytes". */
  readonly where: string;
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = "InputError";
    this.where = where;
  }
}

/** The firmware trapped (unreachable, out-of-bounds access, abort()). */
export class FirmwareTrap extends Error {
  constructor(
    message: string,
    readonly atNs: number,
  ) {
    super(message);
    this.name = "FirmwareTrap";
  }
}
