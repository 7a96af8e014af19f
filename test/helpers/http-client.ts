import { checkResponse } from "./contract";

// Talking to a running server over real HTTP, as a client application would.
export interface HttpClient {
  call(method: string, path: string, json?: unknown, headers?: Record<string, string>): Promise<Response>;
}

export function httpClient(baseUrl: string, key?: string): HttpClient {
  return {
    call: async (method, path, json, headers = {}) => {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(key ? { "X-API-Key": key } : {}),
          ...(json !== undefined ? { "Content-Type": "application/json" } : {}),
          ...headers,
        },
        body: json !== undefined ? JSON.stringify(json) : undefined,
      });
      await checkResponse(() => fetch(`${baseUrl}/openapi.json`), method, path, res);
      return res;
    },
  };
}
