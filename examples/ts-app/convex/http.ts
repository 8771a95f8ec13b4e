import { httpRouter } from "convex/server";
import { api } from "./_generated/api";
import { httpAction } from "./_generated/server";

const http = httpRouter();

// A JSON webhook: posts a message.
http.route({
  path: "/webhook",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const { channel, author, body } = await request.json();
    const sent = await ctx.runMutation(api.messages.send, { channel, author, body });
    return Response.json({ seq: sent.seq }, { status: 201 });
  }),
});

// A form upload: answers what it received.
http.route({
  path: "/upload",
  method: "POST",
  handler: httpAction(async (_ctx, request) => {
    const form = await request.formData();
    const file = form.get("file") as Blob;
    return Response.json({ name: form.get("name"), size: file.size, text: await file.text() });
  }),
});

// A streamed response, written in chunks.
http.route({
  path: "/stream",
  method: "GET",
  handler: httpAction(async () => {
    const encoder = new TextEncoder();
    const stream = new ReadableStream({
      start(controller) {
        for (const part of ["one ", "two ", "three"]) controller.enqueue(encoder.encode(part));
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/plain" } });
  }),
});

http.route({
  path: "/old-home",
  method: "GET",
  handler: httpAction(async (_ctx, request) =>
    Response.redirect(new URL("/home", request.url).toString(), 302),
  ),
});

// Everything under /echo/: method, path and query back.
http.route({
  pathPrefix: "/echo/",
  method: "GET",
  handler: httpAction(async (_ctx, request) => {
    const url = new URL(request.url);
    return new Response(`${request.method} ${url.pathname}${url.search}`);
  }),
});

http.route({
  path: "/boom",
  method: "POST",
  handler: httpAction(async () => {
    throw new Error("webhook failed");
  }),
});

// Upload through an HTTP action: the body becomes a stored file.
http.route({
  path: "/files/upload",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const storageId = await ctx.storage.store(await request.blob());
    return Response.json({ storageId });
  }),
});

http.route({
  path: "/files/serve",
  method: "GET",
  handler: httpAction(async (ctx, request) => {
    const id = new URL(request.url).searchParams.get("id") as any;
    const blob = await ctx.storage.get(id);
    return blob === null ? new Response("no such file", { status: 404 }) : new Response(blob);
  }),
});

export default http;
