"""The simulated morning: a realistic event morning played through the kiosk's real API (issue 14, items 4–5)."""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
from zoneinfo import ZoneInfo

from . import plan as plans
from .driver import (Clock, Screens, SimulationError, Station, agenda, import_invitees, invitation_list, play,
                     quote_query, walk_in_group)
from .summary import Progress, Summary
from .truth import Truth, compare

__all__ = ["run_morning", "Summary", "SimulationError"]


def _seconds_of_day(iso: str, zone: ZoneInfo) -> float:
    local = dt.datetime.fromisoformat(iso).astimezone(zone)
    return local.hour * 3600 + local.minute * 60 + local.second


def programme_times(state: dict) -> list[tuple[float, float | None]]:
    """Each item's planned start and end on the virtual clock, from the show state."""
    zone = ZoneInfo(state["event"]["timezone"])
    return [(_seconds_of_day(item["planned_start"], zone),
             _seconds_of_day(item["planned_end"], zone) if item.get("planned_end") else None) for item in state["items"]]


def _csv(rows: list[list[str]]) -> bytes:
    import csv
    import io
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Họ và tên", "Danh xưng", "Chức vụ", "Đơn vị", "Nhóm", "Thứ tự", "Khu vực/ghế", "Điện thoại",
                     "Ghi chú"])
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


class Morning:
    """One run: the stations, the screens, the truth, the faults."""

    def __init__(self, base_url: str, pins: dict, *, speed: float, gates: int, screens: int, seed: int, faults):
        self.base, self.pins, self.speed, self.gates, self.seed = base_url.rstrip("/"), pins, speed, gates, seed
        self.screen_count, self.fault_list = screens, list(faults)
        self.stop = threading.Event()
        self.truth = Truth()
        self.errors: list[BaseException] = []
        self.fired: list[str] = []

    # --- the stations' actions -------------------------------------------------------------------
    def gate_action(self, station: Station, action: plans.Action) -> None:
        data, gate = action.data, action.station
        truth = self.truth
        if action.kind == "scan":
            answer, latency = station.timed("POST", "/api/checkin", {"code": data["code"], "gate": gate,
                                                                       "nonce": action.key})
            verdict = answer.json()["result"]
        elif action.kind == "search":
            found, latency = station.timed("GET", f"/api/delegates?q={quote_query(data['query'])}")
            answer, more = station.timed("POST", "/api/checkin/by-id", {"invitee_id": data["invitee_id"],
                                                                          "gate": gate, "nonce": action.key})
            latency += more
            verdict = answer.json().get("result", answer.json().get("error"))
        else:   # walk-in
            answer, latency = station.timed("POST", "/api/walkins", {"full_name": data["full_name"],
                                                                       "group": data["group"], "nonce": action.key})
            verdict = answer.json().get("result", answer.json().get("error"))
        with truth.lock:
            truth.latencies.append(latency)
            label = {"search": "search", "walkin": "walkin"}.get(action.kind, verdict)
            truth.verdicts[label if verdict == "ok" else verdict] += 1
            if verdict == "ok" and action.kind == "walkin":
                truth.walk_ins.append(data["full_name"])
            elif verdict == "ok":
                truth.admissions[data["invitee_id"]] += 1

    def admin_action(self, station: Station, action: plans.Action) -> None:
        person = action.data["invitee_id"]
        # The organiser undoes an admission they saw: wait until it was acknowledged (a gate may be behind).
        deadline = time.monotonic() + 30
        while person not in self.truth.admitted() and time.monotonic() < deadline and not self.stop.is_set():
            time.sleep(0.05)
        before = station.retries
        answer = station.call("POST", "/api/checkin/undo", {"invitee_id": person, "reason": action.data["reason"]})
        # The undo has no idempotency key: "not checked in" after a resend means the first send was taken.
        if answer.status_code == 200 or (answer.json().get("error") == "not_checked_in" and station.retries > before
                                         and person in self.truth.admitted()):
            with self.truth.lock:
                self.truth.undos[person] += 1
                self.truth.verdicts["undo"] += 1

    def mc_action(self, station: Station, action: plans.Action) -> None:
        wanted = action.data["expected_index"] + 1
        answer = station.call("POST", "/api/agenda/next", {"expected_index": action.data["expected_index"]})
        body = answer.json()
        state = body if answer.status_code == 200 else body.get("state") or {}
        # 409 stale_index after a lost answer: the first send moved the programme already.
        if state.get("current_index") == wanted:
            self.truth.programme_index = wanted

    def cashier_action(self, station: Station, action: plans.Action) -> None:
        self.retry_prints(station)
        body = {**action.data, "request_id": action.key}
        answer = station.call("POST", "/api/donations", body)
        if answer.status_code not in (200, 201):
            raise SimulationError(f"ủng hộ bị từ chối: {answer.status_code} {answer.text[:200]}")
        gift = answer.json()
        self.truth.receipt(action.key, gift["receipt_no"], gift["amount_vnd"])
        if (gift.get("print") or {}).get("status") == "done":
            self.truth.printed.add(gift["receipt_no"])

    def retry_prints(self, station: Station) -> None:
        """The treasurer looks at the desk: receipts printed since, and "Thử in lại" on those that failed."""
        for number in [n for n in self.truth.receipts if n not in self.truth.printed]:
            jobs = station.call("GET", f"/api/donations/{number}").json().get("jobs", [])
            if any(job["status"] == "done" for job in jobs):
                self.truth.printed.add(number)
                continue
            failed = [job for job in jobs if job["status"] == "failed"]
            if failed and len(failed) == len(jobs):
                station.call("POST", f"/api/print-jobs/{failed[-1]['job_id']}/retry")
                self.truth.reprinted.add(number)

    # --- the run ----------------------------------------------------------------------------------
    def guarded(self, target, *args) -> None:
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported after the run, and the run stops
            self.errors.append(exc)
            self.stop.set()

    def fault_loop(self, clock: Clock, plan: plans.Plan) -> None:
        span = plan.end - plan.start
        timed = sorted(((plan.start + when * span if when <= 1 else when), index, fn)
                       for index, (when, fn) in enumerate(self.fault_list))
        for at, _index, fn in timed:
            clock.wait_until(at, self.stop)
            if self.stop.is_set():
                return
            fn()
            self.fired.append(f"{plans.clock_label(at)} {getattr(fn, '__doc__', None) or getattr(fn, '__name__', 'fault')}")


def run_morning(base_url: str, pins: dict, *, speed: float = 10.0, gates: int = 4, screens: int = 4,
                invitees: int | None = None, seed: int = 1, faults=(), progress=None,
                verify: bool | str = True) -> Summary:
    """Play a whole morning against the kiosk at `base_url` and compare its report with what was acknowledged.

    `pins` maps each role to its PIN; `faults` is a list of (when, callable), `when` a fraction of the run (≤ 1)
    or a virtual time in seconds since midnight; `progress` a stream for the progress bar; `verify` what
    requests checks an HTTPS certificate against (the kiosk's CA file)."""
    morning = Morning(base_url, pins, speed=speed, gates=gates, screens=screens, seed=seed, faults=faults)
    stop = morning.stop
    admin = Station(base_url, "admin", pins["admin"], stop, verify=verify)
    people = invitation_list(admin)
    if invitees and invitees > len(people):
        rows = plans.synthetic_rows(invitees - len(people), seed, taken=len(people))
        import_invitees(admin, f"khach-moi-mo-phong-{seed}.csv", _csv(rows))
        people = invitation_list(admin)
    all_ids = {p.id for p in people}
    if invitees and invitees < len(people):
        people = random.Random(seed).sample(people, invitees)
    stations = {f"gate-{n + 1}": Station(base_url, "gate", pins["gate"], stop, verify=verify) for n in range(gates)}
    stations.update(mc=Station(base_url, "mc", pins["mc"], stop, verify=verify),
                    cashier=Station(base_url, "cashier", pins["cashier"], stop, verify=verify),
                    admin=admin)
    state = agenda(base_url, verify)
    plan = plans.build(people, programme_times(state), gates=gates, seed=seed,
                       walk_in_group=walk_in_group(stations["gate-1"]))
    screen_set = Screens(base_url, screens, verify)
    screen_set.start()
    bar = Progress(progress) if progress is not None else None
    started = time.perf_counter()
    clock = Clock(plan.start, speed)
    handlers = {"mc": morning.mc_action, "cashier": morning.cashier_action, "admin": morning.admin_action}
    threads = [threading.Thread(target=morning.guarded, daemon=True,
                                args=(play, stations[name], plan.of(name), clock, stop,
                                      handlers.get(name, morning.gate_action))) for name in plan.stations()]
    threads.append(threading.Thread(target=morning.guarded, args=(morning.fault_loop, clock, plan), daemon=True))
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads[:-1]):
        for thread in threads[:-1]:
            thread.join(0.25)
        if bar:
            bar.update((clock.now() - plan.start) / (plan.end - plan.start),
                       f"{plans.clock_label(min(clock.now(), plan.end))} · {len(morning.truth.latencies)} lượt quét"
                       f" · {len(morning.truth.receipts)} biên nhận")
    stop.set()
    threads[-1].join(60)
    if bar:
        bar.done()
    if morning.errors:
        screen_set.stop()
        raise morning.errors[0]
    # The treasurer makes sure every receipt printed (the printer may have been unplugged a while).
    deadline = time.monotonic() + 60
    while len(morning.truth.printed) < len(morning.truth.receipts) and time.monotonic() < deadline:
        morning.retry_prints(stations["cashier"])
        time.sleep(0.5)
    time.sleep(1.5)   # the last coalesced pushes (counts twice a second, the roster once)
    lines = compare(morning.truth, admin, stations["gate-1"], invitees=all_ids)
    screen_set.stop()
    return Summary(verdicts=morning.truth.verdicts, latencies=morning.truth.latencies, pushes=screen_set.received,
                   screens=screens, receipts=len(morning.truth.receipts), printed=len(morning.truth.printed),
                   reprinted=len(morning.truth.reprinted),
                   lines=lines, wall_seconds=time.perf_counter() - started,
                   retries=sum(s.retries for s in stations.values()), reconnects=screen_set.reconnects,
                   faults=morning.fired)
