import { httpRouter } from "convex/server";
import { httpAction } from "./_generated/server";

// The work both targets do: parse a JSON body, answer JSON derived from it.
const http = httpRouter();
http.route({
  path: "/echo",
  method: "POST",
  handler: httpAction(async (_ctx, request) => {
    const { name, n } = await request.json();
    return Response.json({ hello: name, twice: n * 2 });
  }),
});
export default http;
