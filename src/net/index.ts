// Outbound connections made on a tenant's behalf: which addresses they may reach, and dialling
// only the addresses that were checked. The module's public surface.
export {
  type AddressPolicy,
  type CheckedAddress,
  checkHost,
  type HostCheck,
  isBlockedAddress,
  RESOLVE_TIMEOUT_MS,
  type Resolve,
} from "./address-guard";
export { ConnectError, connectPinned, pinnedLookup } from "./pinned-connect";
