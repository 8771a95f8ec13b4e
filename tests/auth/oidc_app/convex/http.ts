import { httpRouter } from "convex/server";
import { api } from "./_generated/api";
import { httpAction } from "./_generated/server";

const http = httpRouter();

// Who the request is from; a token that does not verify makes getUserIdentity() throw.
http.route({
  path: "/whoami",
  method: "GET",
  handler: httpAction(async (ctx) => {
    try {
      const identity = await ctx.auth.getUserIdentity();
      const nested = await ctx.runQuery(api.whoami.me, {});
      return Response.json({ identity, nested });
    } catch (error) {
      return Response.json({ error: String((error as Error).message ?? error) });
    }
  }),
});

export default http;
