import { httpRouter } from "convex/server";
import { auth } from "./auth";

const http = httpRouter();

// /.well-known/openid-configuration and /.well-known/jwks.json (and OAuth callbacks).
auth.addHttpRoutes(http);

export default http;
