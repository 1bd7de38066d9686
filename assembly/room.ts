import { EventKind, HostEvent } from "./codec";
import { Context } from "./context";
import { createService } from "./registry";
import { Service } from "./service";
import { TimerGate } from "./timer";

/** One room: the author's service and its context. A WebAssembly instance is one room. */
class Room {
  private readonly timerGate: TimerGate = new TimerGate();
  private readonly context: Context = new Context(this.timerGate);
  private readonly service: Service = createService();

  /** Calls the callback that `event` asks for. */
  handle(event: HostEvent): void {
    const ctx = this.context;
    switch (event.kind) {
      case EventKind.Init:
        this.service.init(ctx);
        break;
      case EventKind.Connect:
        this.service.connect(event.client, ctx);
        break;
      case EventKind.Disconnect:
        this.service.disconnect(event.client, ctx);
        break;
      case EventKind.Message:
        this.service.message(event.client, event.payload!, ctx);
        break;
      case EventKind.Timer:
        if (this.timerGate.fire()) this.service.timer(ctx);
        break;
    }
  }
}

// Created on the first event (which the ABI guarantees to be Init), so the author's
// constructor runs when the room is created, as in the native API, and not while the
// host is still instantiating the module.
let room: Room | null = null;

/** Delivers one decoded event to this instance's room. */
export function deliver(event: HostEvent): void {
  let current = room;
  if (current === null) {
    current = new Room();
    room = current;
  }
  current.handle(event);
}
