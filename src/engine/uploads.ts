/**
 * Reference, from a RemoteStep's command, a secret file the engine uploads into the private
 * upload directory of this apply (`$RPCTL_UPLOAD`, mode 0700, removed on every path).
 *
 *   sh`turnadmin -a -b ${db} -u ${user} -r ${realm} -p "$(cat ${uploadedFile('turn-password')})"`
 */
import { InputError } from '../errors.js';
import { type ShellCommand, script } from '../transport/shell.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function uploadedFile(name: string): ShellCommand {
  if (!NAME.test(name))
    throw new InputError(`internal: upload name ${JSON.stringify(name)} is not a plain file name`);
  return script(`"$RPCTL_UPLOAD/${name}"`);
}
