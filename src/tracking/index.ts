// Open and click tracking: sealed tokens, the html rewrite that puts them in, the verdict on
// machine hits and the endpoints' answers. The module's whole public surface; it holds no state
// and reads no config (the caller passes the secret box and the public URL).
export {
  type ClickClaim,
  isTrackableUrl,
  MAX_TOKEN_LENGTH,
  MAX_TRACKED_URL_BYTES,
  type OpenClaim,
  readClickToken,
  readOpenToken,
  signClickToken,
  signOpenToken,
} from "./token";
