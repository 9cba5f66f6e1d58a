// Tutti's tutti.v1 API for browsers: the same generated messages and service
// descriptors as the Node.js entry (index.ts), over gRPC-Web (HTTP/1.1 or 2,
// fetch) with Connect's web transport. Tutti serves gRPC-Web on its gRPC port;
// the page's origin must be in the server's `http.cors_origins`.
//
// Built into one ES module with `npm run build:web` (dist/web/tutti-web.js),
// so a page can load it without a bundler:
//
//   import { createTuttiWebClients, newRequestId, personName } from "./tutti-web.js";
//   const tutti = createTuttiWebClients({ baseUrl: "https://tutti.example", tenant: "clinic-a" });
//   const { processes } = await tutti.catalog.listProcesses({});

import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { CatalogService } from "./gen/tutti/v1/catalog_pb.js";
import { PeopleService } from "./gen/tutti/v1/people_pb.js";
import { RecommendationService } from "./gen/tutti/v1/recommendation_pb.js";

export { Code, ConnectError } from "@connectrpc/connect";
export * from "./gen/tutti/v1/types_pb.js";
export * from "./gen/tutti/v1/catalog_pb.js";
export * from "./gen/tutti/v1/people_pb.js";
export * from "./gen/tutti/v1/recommendation_pb.js";

/** Header that selects the tenant when the server runs without API keys. */
export const TENANT_HEADER = "x-tutti-tenant";

/** The three Tutti services over one transport. */
export interface TuttiWebClients {
  catalog: Client<typeof CatalogService>;
  people: Client<typeof PeopleService>;
  recommendations: Client<typeof RecommendationService>;
}

export interface TuttiWebOptions {
  /** Server URL, e.g. "https://tutti.example" (the gRPC port). */
  baseUrl: string;
  /** Tenant sent in x-tutti-tenant (servers without API keys). */
  tenant?: string;
  /** API key sent as `authorization: Bearer <key>` (servers with API keys). */
  apiKey?: string;
  /** More interceptors, run after the tenant and key ones. */
  interceptors?: Interceptor[];
}

function headerInterceptor(name: string, value: string): Interceptor {
  return (next) => async (req) => {
    req.header.set(name, value);
    return next(req);
  };
}

/** A gRPC-Web transport to a Tutti server. */
export function createTuttiWebTransport(options: TuttiWebOptions): Transport {
  const interceptors = [
    ...(options.tenant === undefined ? [] : [headerInterceptor(TENANT_HEADER, options.tenant)]),
    ...(options.apiKey === undefined ? [] : [headerInterceptor("authorization", `Bearer ${options.apiKey}`)]),
    ...(options.interceptors ?? []),
  ];
  return createGrpcWebTransport({ baseUrl: options.baseUrl, interceptors });
}

/** Clients for the three services, over a new transport or one you made. */
export function createTuttiWebClients(options: TuttiWebOptions | Transport): TuttiWebClients {
  const transport = "baseUrl" in options ? createTuttiWebTransport(options) : options;
  return {
    catalog: createClient(CatalogService, transport),
    people: createClient(PeopleService, transport),
    recommendations: createClient(RecommendationService, transport),
  };
}

/** A fresh idempotency key (32 hex digits). Reuse it when retrying the same write. */
export function newRequestId(): string {
  return globalThis.crypto.randomUUID().replaceAll("-", "");
}

/** The resource name "people/{personId}" that requests about a person take. */
export function personName(personId: string): string {
  return `people/${personId}`;
}
