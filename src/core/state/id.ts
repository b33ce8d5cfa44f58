import { HakoError } from '../errors.js';

/*
 * runc 1.1 checks ids with the Go regexp `^[\w+-\.]+$`. In Go's character class `+-\.` is
 * the range '+'..'.', so runc accepts ',' too; hako accepts the same set so that every id
 * runc takes works here. runc also rejects ids that a path cleaner would change, which with
 * no '/' allowed leaves exactly "." and "..".
 */
const ID_PATTERN = /^[A-Za-z0-9_+,.-]+$/;

/** The longest name a directory entry can have (NAME_MAX); the id names the state dir. */
export const MAX_ID_LENGTH = 255;

/** Throws a HakoError unless `id` can name a container (and its state directory). */
export function validateId(id: string): void {
  if (id === '') {
    throw new HakoError('invalid container id "": must not be empty');
  }
  if (id.length > MAX_ID_LENGTH) {
    throw new HakoError(
      `invalid container id "${id.slice(0, 32)}...": longer than ${MAX_ID_LENGTH} characters`,
    );
  }
  if (!ID_PATTERN.test(id)) {
    throw new HakoError(
      `invalid container id ${JSON.stringify(id)}: ` +
        'only letters, digits and the characters _ + , - . are allowed',
    );
  }
  if (id === '.' || id === '..') {
    throw new HakoError(`invalid container id "${id}": "." and ".." are not container ids`);
  }
}
