import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';

type InterceptingServerListener = Parameters<ServerInterceptingCall['start']>[0];
import { errorFields, type Logger } from '../logger';
import { identityOf } from '../tls';
import type { Authorizer, Denial } from './authorizer';
import { RULES, isWrite } from './rules';

/** A call that can end itself from inside the interceptor, telling the handler it is gone. */
class AuthorizingCall extends ServerInterceptingCall {
  private downstream: InterceptingServerListener | undefined;

  override start(listener: InterceptingServerListener): void {
    this.downstream = listener;
    super.start(listener);
  }

  refuse(denial: Denial): void {
    this.sendStatus({ code: denial.code, details: denial.details });
    // A streaming handler may already run (bidi handlers start on metadata): end it.
    this.downstream?.onCancel();
  }
}

/**
 * The one place authorization happens: every request message is judged before any handler
 * sees it, and every write is logged with the caller's identity and its outcome.
 */
export function authorizationInterceptor(authorizer: Authorizer, log: Logger): ServerInterceptor {
  return (descriptor, next) => {
    const method = descriptor.path;
    const write = isWrite(RULES.get(method)) || !RULES.has(method);
    const identity = identityOf(next.getAuthContext());
    const state = { registrationAllowed: false };
    let refused = false;
    const call: AuthorizingCall = new AuthorizingCall(next, {
      start: (startNext) =>
        startNext({
          onReceiveMessage: (message: unknown, pass) => {
            authorizer.decide(method, identity, message, state).then(
              (denial) => {
                if (!denial) return pass(message);
                refused = true;
                log.warn('call refused', { method, identity, peer: next.getPeer(), code: status[denial.code], reason: denial.details });
                call.refuse(denial);
              },
              (err: unknown) => {
                refused = true;
                log.warn('authorization check failed', { method, identity, ...errorFields(err) });
                call.refuse({ code: status.UNAVAILABLE, details: 'cannot check authorization now: the store did not answer' });
              },
            );
          },
        }),
      sendStatus: (result, pass) => {
        if (write && !refused) log.info('write', { method, identity, peer: next.getPeer(), code: status[result.code ?? status.OK] });
        pass(result);
      },
    });
    return call;
  };
}
