// What counts as an address, a domain and a host, and how large content may be: for every module.
export {
  type Address,
  addressProblem,
  asciiMailDomain,
  dialableHost,
  domainOf,
  hasControlChars,
  isAddrSpec,
  isSmtpHost,
  MAX_ADDRESS,
  MAX_ADDRESS_STRING,
  MAX_NAME_LENGTH,
  nameProblem,
  parseAddressString,
  parseAddrSpec,
} from "./address";
export { CONTENT_MAX_DOC, contentSizeProblem, refuseOversizedContent } from "./content-size";
