// An image that was read to the end but does not hold up: a page or commit record that fails
// its check, a chain that does not match, no complete image. The command line prints the message
// on one line and exits with status 1 ("done, but the property fails"), writing nothing.
// Bad input (an unreadable dump, a wrong or missing key, a bad argument) is an InputError (2).

export class ImageError extends Error {
  constructor(
    /** The dump (and, where it helps, the image) at fault. */
    readonly where: string,
    problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = "ImageError";
  }
}
