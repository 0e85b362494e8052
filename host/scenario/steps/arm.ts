// ARM, as a BIOS does it: ask, and while the controller refuses (a bank still charging) ask again
// every 50 ms until it arms or the timeout passes; with expect "refused", stop at the first
// refusal. The outcome is the controller's answer to the last ARM: "ok", "refused: no key", ….

import { Trace } from "../../abi/hal.ts";
import { ARM_REFUSAL_BITS, Cmd, CmdResult, bitNames } from "../../abi/registers.ts";
import { withReasons } from "../answers.ts";
import type { Ticket } from "../controller.ts";
import type { Outcome, StepKind } from "./kind.ts";
import type { ArmStep } from "./types.ts";

const ASK_AGAIN_NS = 50_000_000;

export const arm: StepKind<ArmStep> = {
  parse: (f, t) => ({ ...t, action: "arm", timeoutNs: f.timeout(), expect: f.text<ArmStep["expect"]>("expect", "ok") }),
  run: (s, r) => {
    const { m, host, link } = r.ctx;
    // Without a result register (a test firmware), the traces say what happened.
    const answer = (t: Ticket, otherwise: string): Outcome => (link.answers ? t : otherwise);
    r.send(
      Cmd.ARM,
      () => host.arm(),
      s.timeoutNs,
      (first) => {
        let ticket = first;
        let sentAt = first.sentNs;
        const check = (): Outcome | null => {
          if (r.ctx.tracesSince(sentAt, [Trace.ARMED])) return answer(ticket, "ok");
          const refused = r.ctx.lastTraceSince(sentAt, [Trace.ARM_REFUSED]);
          if (refused && s.expect === "refused")
            return answer(ticket, withReasons("refused", bitNames(refused.arg, ARM_REFUSAL_BITS)));
          // Answered without arming or refusing: busy, or armed already.
          const a = ticket.answer;
          if (a && a.result !== null && a.result !== CmdResult.REFUSED) return a.text;
          if (refused && m.clock.now - sentAt >= ASK_AGAIN_NS) {
            sentAt = m.clock.now;
            link.deliver(
              Cmd.ARM,
              () => host.arm(),
              0,
              (t) => (ticket = t),
              () => {},
            );
          }
          return null;
        };
        r.poll(s.timeoutNs, check, () => (ticket.answer ? `timeout (last answer: ${ticket.answer.text})` : "timeout"));
      },
    );
  },
};
