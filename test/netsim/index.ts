// The simulated internet's public API; see README.md beside this file.
export {
  internet,
  Internet,
  PUBLIC_ADDRESSES,
  type Home,
  type InternetOptions,
  type NatType,
  type PathOptions,
  type Place,
} from './internet.js';
export { turnCredentials, type TurnCredentials, type TurnOptions, type TurnService } from './coturn.js';
export { NetsimError, type NetsimErrorCode } from './errors.js';
export { startEcdnServer } from './ecdn-server.js';
