// The page: sign up / sign in with a password or anonymously, see and add your own notes,
// sign out. Opened as index.html?url=<deployment url> (default: a local `bayou serve`).
import { ConvexAuthProvider, useAuthActions, useAuthToken } from "@convex-dev/auth/react";
import { Authenticated, ConvexReactClient, Unauthenticated, useConvexAuth, useMutation, useQuery } from "convex/react";
import { makeFunctionReference } from "convex/server";
import { useState } from "react";
import { createRoot } from "react-dom/client";

const url = new URLSearchParams(window.location.search).get("url") ?? "http://127.0.0.1:3210";
const client = new ConvexReactClient(url);
const viewer = makeFunctionReference("notes:viewer");
const mine = makeFunctionReference("notes:mine");
const add = makeFunctionReference("notes:add");

function SignIn() {
  const { signIn } = useAuthActions();
  const [flow, setFlow] = useState("signUp");
  const [error, setError] = useState("");
  const submit = (event) => {
    event.preventDefault();
    setError("");
    signIn("password", new FormData(event.currentTarget)).catch((e) => setError(e.message));
  };
  return (
    <form id="sign-in" onSubmit={submit}>
      <input id="email" name="email" type="email" placeholder="Email" />
      <input id="password" name="password" type="password" placeholder="Password" />
      <input name="flow" type="hidden" value={flow} />
      <button id="submit" type="submit">{flow === "signUp" ? "Sign up" : "Sign in"}</button>
      <button id="switch" type="button" onClick={() => setFlow(flow === "signUp" ? "signIn" : "signUp")}>
        {flow === "signUp" ? "I have an account" : "I need an account"}
      </button>
      <button id="anonymous" type="button" onClick={() => void signIn("anonymous")}>
        Continue anonymously
      </button>
      <p id="error">{error}</p>
    </form>
  );
}

function Notes() {
  const { signOut } = useAuthActions();
  const user = useQuery(viewer);
  const notes = useQuery(mine);
  const addNote = useMutation(add);
  const [body, setBody] = useState("");
  return (
    <section>
      <p id="user">{user === undefined ? "loading" : user === null ? "nobody" : user.email ?? "anonymous"}</p>
      <ul id="notes">{notes?.map((note, i) => <li key={i}>{note}</li>)}</ul>
      <input id="note" value={body} onChange={(e) => setBody(e.target.value)} />
      <button id="add" onClick={() => void addNote({ body }).then(() => setBody(""))}>Add</button>
      <button id="sign-out" onClick={() => void signOut()}>Sign out</button>
    </section>
  );
}

function TokenInfo() {
  const token = useAuthToken();
  const { isLoading, isAuthenticated } = useConvexAuth();
  let issuedAt = "";
  if (token) issuedAt = String(JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).iat);
  return (
    <p>
      <span id="auth-state">{isLoading ? "loading" : isAuthenticated ? "signed in" : "signed out"}</span>
      {" "}
      <span id="token-iat">{issuedAt}</span>
    </p>
  );
}

function App() {
  return (
    <main>
      <TokenInfo />
      <Unauthenticated>
        <SignIn />
      </Unauthenticated>
      <Authenticated>
        <Notes />
      </Authenticated>
    </main>
  );
}

createRoot(document.getElementById("root")).render(
  <ConvexAuthProvider client={client}>
    <App />
  </ConvexAuthProvider>,
);
