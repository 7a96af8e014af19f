// The typed context every route and middleware shares.
import type { AuthenticatedKey } from "../api-keys";
import type { Logger } from "../logger";

export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set once a request is authenticated by an API key. */
    apiKey: AuthenticatedKey;
    tenantId: string;
    log: Logger;
    /** The email a request accepted, for its log line. */
    emailId: string;
  };
}
