// Who connected, proven: every client presents a JSON Web Token, and the room greets it by the
// token's subject. The module exports `authorize` next to its service, so `stateroom serve`
// (and `dev`, and `--workers N`) admits clients through it: no serve() script of your own.
//
//   JWT_SECRET=$(openssl rand -base64 32) npx stateroom serve examples/jwt/service.ts
//   then connect to ws://localhost:8080/ws/lobby?access_token=<a JWT signed with JWT_SECRET>
//
// The token travels as a query parameter because a browser's WebSocket cannot set headers.
import type { IncomingMessage } from 'node:http';
import { errors, jwtVerify } from 'jose';
import type { Admitted, ClientId, Context, Payload, Refusal, Service } from 'stateroom';

/** HS256 needs a key of at least 256 bits: refuse to start with less, so no weak key runs. */
const MIN_SECRET_BYTES = 32;

function secretFromEnv(): Uint8Array {
  const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new Error(`set JWT_SECRET to a secret of at least ${MIN_SECRET_BYTES} bytes (e.g. JWT_SECRET=$(openssl rand -base64 32)): it signs the tokens this service accepts`);
  }
  return secret;
}

const secret = secretFromEnv();

/** The user a valid token names: its subject. */
interface User {
  readonly sub: string;
}

/**
 * Admits a client whose `?access_token=` is a JWT signed with JWT_SECRET (HS256 only: a token
 * naming another algorithm, `none` included, is refused), not expired, with a subject; 401
 * otherwise. The user is what the room needs and what stays the same across the user's
 * tokens — not the whole payload (its `exp` changes with every token).
 */
export async function authorize(request: IncomingMessage): Promise<Admitted | Refusal> {
  const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
  if (token === null) return { status: 401, reason: 'connect with ?access_token=<JWT>' };
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    if (typeof payload.sub !== 'string' || payload.sub === '') return { status: 401, reason: 'the token names no subject (sub)' };
    const user: User = { sub: payload.sub };
    return { user };
  } catch (err) {
    return { status: 401, reason: err instanceof errors.JWTExpired ? 'the token has expired' : 'the token is not valid' };
  }
}

/** A room that greets each client by its token's subject and tells the others who said what. */
export default class Greeter implements Service {
  connect(client: ClientId, ctx: Context): void {
    const who = nameOf(client, ctx);
    ctx.sendMessage(client, `hello, ${who}`);
    ctx.sendMessage({ except: client }, `${who} joined`);
  }

  message(client: ClientId, payload: Payload, ctx: Context): void {
    if (typeof payload === 'string') ctx.sendMessage('broadcast', `${nameOf(client, ctx)}: ${payload}`);
  }
}

/** Every client of this service was admitted by `authorize`, so each has a user. */
function nameOf(client: ClientId, ctx: Context): string {
  const user = ctx.clientInfo(client)?.user as User | undefined;
  return user?.sub ?? `client ${client}`;
}
