import { httpRouter } from "convex/server";
import { httpAction } from "./_generated/server";

const http = httpRouter();

http.route({
  path: "/hello",
  method: "GET",
  handler: httpAction(async () => new Response("hello")),
});

http.route({
  pathPrefix: "/files/",
  method: "POST",
  handler: httpAction(async (_ctx, request) => new Response(await request.text())),
});

export default http;
