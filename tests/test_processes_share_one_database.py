"""Several kiosk processes on one PostgreSQL and one Redis (deploy/): every rule holds whichever process a
request reaches, pushes cross processes, the printer has one owner, and a killed process loses nothing."""
from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

from .conftest import PINS
from .printer_fakes import FakePrinter, raster_image
from .processes import Cluster, FromAddress, station
from .services import PrivateNginx

pytestmark = [pytest.mark.processes, pytest.mark.live]


@pytest.fixture
def printer():
    with FakePrinter() as fake:
        yield fake


@pytest.fixture
def cluster(tmp_path, postgres, redis_server, printer):
    """Two processes started together on an empty database, printing to one fake printer."""
    group = Cluster(tmp_path, postgres.new_database(), redis_server.url(), count=2,
                    KIOSK_PRINTER=printer.url(timeout=2.0)).start()
    yield group
    group.stop()


@pytest.fixture
def proxy(cluster, nginx_program):
    """nginx running deploy/nginx-kiosk.conf in front of the cluster."""
    server = PrivateNginx([int(url.rsplit(":", 1)[1]) for url in cluster.urls]).start()
    yield server
    server.stop()


def _scan(session: requests.Session, base: str, code: str, nonce: str | None = None, gate: str = "Cổng A"):
    return session.post(f"{base}/api/checkin", json={"code": code, "gate": gate, "nonce": nonce or uuid.uuid4().hex},
                        timeout=15)


def test_two_processes_starting_on_an_empty_database_set_it_up_once(cluster):
    assert cluster.query("SELECT count(*) FROM event")[0][0] == 1
    assert cluster.query("SELECT count(*) FROM staff_role")[0][0] == 4
    codes = cluster.query("SELECT count(*), count(DISTINCT invitee_id) FROM invitation_code")[0]
    invited = cluster.query("SELECT count(*) FROM invitee WHERE NOT is_walk_in")[0][0]
    assert codes[0] == codes[1] == invited > 30  # one code per delegate, not two sets
    for url in cluster.urls:
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200


def test_twenty_gates_behind_nginx_scanning_one_code_admit_once(cluster, proxy):
    code, = cluster.codes(1)
    gates = [station(proxy.url, "gate", f"127.0.0.{10 + i}") for i in range(20)]
    barrier = threading.Barrier(len(gates))

    def scan(i):
        barrier.wait()
        return _scan(gates[i], proxy.url, code, gate=f"Cổng {i}")
    with ThreadPoolExecutor(len(gates)) as pool:
        answers = list(pool.map(scan, range(len(gates))))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    results = sorted(a.json()["result"] for a in answers)
    assert results == ["already_checked_in"] * 19 + ["ok"]
    served_by = {row[0] for row in cluster.query("SELECT client_addr FROM scan_log WHERE code = :c", c=code)}
    assert len(served_by) == 20  # each gate's own address reached the kiosk through nginx
    assert len({upstream for _d, upstream, request in proxy.served() if "/api/checkin" in request}) == 2
    assert cluster.query("SELECT count(*) FROM invitee i JOIN invitation_code c ON c.invitee_id = i.id "
                         "WHERE c.code = :c AND i.checked_in_at IS NOT NULL", c=code)[0][0] == 1


def test_each_device_stays_on_one_process_behind_nginx_and_screens_connect_through_it(cluster, proxy):
    gates = [station(proxy.url, "gate", f"127.0.0.{40 + i}") for i in range(6)]
    for gate, code in zip(gates, cluster.codes(len(gates))):
        assert _scan(gate, proxy.url, code).json()["result"] == "ok"
        assert gate.get(f"{proxy.url}/api/stats", timeout=10).status_code == 200
    by_device: dict[str, set[str]] = {}
    for device, upstream, _request in proxy.served():
        by_device.setdefault(device, set()).add(upstream)
    assert all(len(upstreams) == 1 for upstreams in by_device.values()), by_device  # sticky: Socket.IO polling
    screen = socketio.Client(reconnection=False)
    greeted = threading.Event()
    screen.on("state", lambda data: greeted.set(), namespace="/display")
    # Long-polling first, then the upgrade to WebSocket, both through nginx.
    screen.connect(proxy.url, namespaces=["/display"], wait_timeout=10)
    try:
        assert greeted.wait(10)
        deadline = time.monotonic() + 10
        while screen.transport() != "websocket" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert screen.transport() == "websocket"
    finally:
        screen.disconnect()


def test_the_same_nonce_on_two_processes_gives_one_admission_and_the_same_answer(cluster):
    a, b = (station(url, "gate") for url in cluster.urls)
    for code in cluster.codes(15):
        nonce = uuid.uuid4().hex
        barrier = threading.Barrier(2)

        def send(pair):
            barrier.wait()
            return _scan(pair[0], pair[1], code, nonce)
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(send, [(a, cluster.urls[0]), (b, cluster.urls[1])])
        assert first.status_code == second.status_code == 200, (first.text, second.text)
        one, two = ({k: v for k, v in r.json().items() if k != "replayed"} for r in (first, second))
        assert one == two and one["result"] == "ok"
        assert sorted(bool(r.json().get("replayed")) for r in (first, second)) == [False, True]
        assert cluster.query("SELECT count(*) FROM scan_log WHERE nonce = :n", n=nonce)[0][0] == 1


def test_simultaneous_undos_on_two_processes_undo_once(cluster):
    admins = [station(url, "admin") for url in cluster.urls]
    gate = station(cluster.urls[0], "gate")
    for code in cluster.codes(8):
        invitee = _scan(gate, cluster.urls[0], code).json()["delegate"]["id"]
        barrier = threading.Barrier(2)

        def undo(i):
            barrier.wait()
            return admins[i].post(f"{cluster.urls[i]}/api/checkin/undo",
                                  json={"invitee_id": invitee, "reason": "Quét nhầm người"}, timeout=15)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(undo, [0, 1]))
        assert sorted(a.status_code for a in answers) == [200, 400], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 400).json()
        assert refused["error"] == "not_checked_in" and refused["message"]
        assert cluster.query("SELECT count(*) FROM scan_log WHERE kind = 'undo' AND invitee_id = :i",
                             i=invitee)[0][0] == 1


def test_sixty_donations_across_processes_are_numbered_without_a_gap(cluster):
    desks = [station(url, "cashier") for url in cluster.urls for _ in range(3)]
    bases = [url for url in cluster.urls for _ in range(3)]

    def give(i):
        desk = i % len(desks)
        answer = desks[desk].post(f"{bases[desk]}/api/donations", timeout=30, json={
            "donor_name": f"Nhà hảo tâm {i}", "amount_vnd": 100_000 + i, "request_id": uuid.uuid4().hex})
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["receipt_no"]
    with ThreadPoolExecutor(len(desks)) as pool:
        numbers = list(pool.map(give, range(60)))
    seqs = sorted(seq for seq, in cluster.query("SELECT seq FROM donation"))
    assert seqs == list(range(1, 61))
    assert len(set(numbers)) == 60
    assert cluster.query("SELECT last FROM receipt_counter")[0][0] == 60


def test_a_donation_retried_on_the_other_process_returns_the_first_save(cluster):
    a, b = (station(url, "cashier") for url in cluster.urls)
    for round_no in range(8):
        request_id = uuid.uuid4().hex
        gift = {"donor_name": "Công ty Sách Việt", "amount_vnd": 2_000_000, "request_id": request_id}
        barrier = threading.Barrier(2)

        def save(pair):
            barrier.wait()
            return pair[0].post(f"{pair[1]}/api/donations", json=gift, timeout=30)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(save, [(a, cluster.urls[0]), (b, cluster.urls[1])]))
        assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers]
        assert answers[0].json()["receipt_no"] == answers[1].json()["receipt_no"]
        assert cluster.query("SELECT count(*) FROM donation WHERE request_id = :r", r=request_id)[0][0] == 1
    seqs = [seq for seq, in cluster.query("SELECT seq FROM donation ORDER BY seq")]
    assert seqs == list(range(1, 9))


def test_two_mcs_on_two_processes_with_the_same_expected_index_one_wins(cluster):
    mcs = [station(url, "mc") for url in cluster.urls]
    for _ in range(7):
        index = requests.get(f"{cluster.urls[0]}/api/agenda", timeout=10).json()["current_index"]
        barrier = threading.Barrier(2)

        def press(i):
            barrier.wait()
            return mcs[i].post(f"{cluster.urls[i]}/api/agenda/next", json={"expected_index": index}, timeout=15)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(press, [0, 1]))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        assert next(a for a in answers if a.status_code == 409).json()["error"] == "stale_index"
        now = requests.get(f"{cluster.urls[1]}/api/agenda", timeout=10).json()["current_index"]
        assert now == index + 1  # one step, never two


def test_a_screen_on_one_process_sees_the_mc_on_the_other(cluster):
    mc = station(cluster.urls[0], "mc")
    screen = socketio.Client(reconnection=False)
    states: list[tuple[float, dict]] = []
    screen.on("state", lambda data: states.append((time.monotonic(), data)), namespace="/display")
    screen.connect(cluster.urls[1], namespaces=["/display"], transports=["websocket"], wait_timeout=10)
    try:
        deadline = time.monotonic() + 10
        while not states and time.monotonic() < deadline:
            time.sleep(0.01)
        latencies = []
        for _ in range(5):
            rev = states[-1][1]["rev"]
            index = states[-1][1]["current_index"]
            sent = time.monotonic()
            answer = mc.post(f"{cluster.urls[0]}/api/agenda/next", json={"expected_index": index}, timeout=10)
            assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(s["rev"] > rev for _, s in states):
                time.sleep(0.002)
            seen = next((at for at, s in states if s["rev"] > rev), None)
            assert seen is not None, "the screen on the other process never heard of the MC's press"
            assert next(s for _, s in states if s["rev"] > rev)["current_index"] == index + 1
            latencies.append((seen - sent) * 1000)
        print(f"\nMC on process A -> screen on process B: {', '.join(f'{ms:.0f}' for ms in latencies)} ms")
    finally:
        screen.disconnect()


def _printed(printer) -> int:
    return len([c for c in printer.connections if c.rasters()])


def _owner(cluster, printer, desk):
    """The process that drives the printer: the one whose pid its first printed job records."""
    saved = desk.post(f"{cluster.urls[0]}/api/donations", timeout=30, json={
        "donor_name": "Trần Thị Mai", "amount_vnd": 300_000, "request_id": uuid.uuid4().hex}).json()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        row = cluster.query("SELECT status, owner FROM print_job WHERE donation_id = "
                            "(SELECT id FROM donation WHERE receipt_no = :r)", r=saved["receipt_no"])[0]
        if row[0] == "done":
            pid = int(row[1].split(":")[1])
            return next(p for p in cluster.processes if p.process.pid == pid)
        time.sleep(0.1)
    raise AssertionError(f"the first receipt never printed: {row}")


def test_a_print_job_outlives_its_printers_owner_being_killed_and_prints_once(cluster, printer):
    desks = [station(url, "cashier") for url in cluster.urls]
    owner = _owner(cluster, printer, desks[0])
    survivor = cluster.processes[1 - cluster.processes.index(owner)]
    assert _printed(printer) == 1
    owner.kill()
    gift = desks[cluster.processes.index(survivor)].post(f"{survivor.url}/api/donations", timeout=30, json={
        "donor_name": "Lê Văn Hùng", "amount_vnd": 1_005_000, "request_id": uuid.uuid4().hex}).json()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _printed(printer) < 2:
        time.sleep(0.1)
    assert _printed(printer) == 2  # the survivor took the printer over and printed the queued receipt
    owner.start()  # the killed process comes back: it must not print anything again
    time.sleep(3)
    assert _printed(printer) == 2
    statuses = cluster.query("SELECT status, attempts FROM print_job ORDER BY id")
    assert statuses == [("done", 1), ("done", 1)]
    image = raster_image(printer.connections[-1].rasters())
    assert image.height > 200 and gift["amount_words"].startswith("Một triệu")


def test_kill_9_of_one_process_in_a_rush_loses_no_acknowledged_scan(cluster, tmp_path):
    cluster.import_people(tmp_path, 400)
    codes = cluster.codes(400)
    gates = [station(url, "gate") for url in cluster.urls for _ in range(4)]
    acknowledged: list[str] = []
    lock = threading.Lock()
    victim = cluster.processes[0]

    def gate_run(i):
        session, mine = gates[i], codes[i::len(gates)]
        primary = cluster.urls[i // 4]
        for code in mine:
            nonce = uuid.uuid4().hex
            for base in (primary, cluster.urls[1]):  # a station whose process died retries on the other
                try:
                    answer = _scan(session, base, code, nonce)
                except requests.RequestException:
                    continue
                if answer.status_code == 200:
                    with lock:
                        acknowledged.append(code)
                    break
    killer = threading.Timer(0.8, victim.kill)
    killer.start()
    with ThreadPoolExecutor(len(gates)) as pool:
        list(pool.map(gate_run, range(len(gates))))
    killer.join()
    assert victim.process.poll() is not None  # it really was killed mid-rush
    admitted = {code for code, in cluster.query(
        "SELECT c.code FROM invitation_code c JOIN invitee i ON i.id = c.invitee_id WHERE i.checked_in_at IS NOT NULL")}
    assert set(acknowledged) <= admitted
    assert len(acknowledged) == len(codes)  # the survivor answered every retry


def _login(base: str, role: str, pin: str, address: str) -> requests.Response:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session.post(f"{base}/api/login", json={"role": role, "pin": pin}, timeout=15)


def test_wrong_pins_on_two_processes_count_together(cluster):
    a, b = cluster.urls
    for i in range(5):  # a device trying PINs on both processes: 3 on one, 2 on the other
        answer = _login(a if i % 2 == 0 else b, "cashier", f"00000{i}", "127.0.0.77")
        assert answer.status_code in (401, 429), answer.text
    for base in (a, b):
        locked = _login(base, "cashier", PINS["cashier"], "127.0.0.77")
        assert locked.status_code == 429, locked.text  # locked on both, the right PIN included
        assert "Nhập sai mã PIN quá nhiều lần" in locked.json()["message"]
    assert _login(b, "cashier", PINS["cashier"], "127.0.0.78").status_code == 200  # another device is not


def test_a_role_closed_by_guesses_from_many_devices_is_closed_on_every_process(cluster):
    a, b = cluster.urls
    for i in range(32):  # 8 devices, 4 wrong PINs each, over both processes
        _login(a if i % 2 else b, "gate", f"9{i:05d}", f"127.0.1.{i // 4 + 1}")
    for base in (a, b):
        closed = _login(base, "gate", PINS["gate"], "127.0.2.1")
        assert closed.status_code == 429, closed.text
    admin = station(b, "admin")
    locked = admin.get(f"{b}/api/dashboard", timeout=10).json()["security"]["locked_roles"]
    assert [entry["role"] for entry in locked] == ["gate"]


def test_the_mc_on_one_process_lists_the_screens_connected_to_the_other(cluster):
    mc = station(cluster.urls[0], "mc")
    lists: list[list] = []
    mc_socket = socketio.Client(reconnection=False, http_session=mc)
    mc_socket.on("screens", lambda data: lists.append(data), namespace="/mc")
    mc_socket.connect(cluster.urls[0], namespaces=["/mc"], transports=["websocket"], wait_timeout=10,
                      headers={"Cookie": f"kiosk_session={mc.cookies['kiosk_session']}"})
    screen = socketio.Client(reconnection=False)
    screen.connect(cluster.urls[1], namespaces=["/display"], transports=["websocket"], wait_timeout=10)
    try:
        answer = screen.call("hello", {"key": "k" * 40, "name": "Máy chiếu hội trường", "view": "projector"},
                             namespace="/display", timeout=10)
        assert answer["ok"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                any(row["connected"] and row["name"] == "Máy chiếu hội trường" for row in rows) for rows in lists):
            time.sleep(0.05)
        assert any(row["connected"] and row["id"] == answer["id"] for row in lists[-1]), lists[-1:]
        screen.disconnect()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(row["connected"] for row in lists[-1]):
            time.sleep(0.05)
        assert not any(row["connected"] for row in lists[-1])  # gone from the list when it left
    finally:
        if screen.connected:
            screen.disconnect()
        mc_socket.disconnect()


def _export_status(session: requests.Session, base: str, job: str) -> dict:
    answer = session.get(f"{base}/api/invitations/export/{job}", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_card_export_runs_once_over_both_processes_and_either_follows_and_serves_it(cluster):
    admins = [station(url, "admin") for url in cluster.urls]
    with ThreadPoolExecutor(6) as pool:   # six clicks at once, three on each process
        answers = list(pool.map(lambda i: admins[i % 2].post(f"{cluster.urls[i % 2]}/api/invitations/export",
                                                             json={"format": "pdf"}, timeout=30), range(6)))
    assert {a.status_code for a in answers} == {202}
    job = answers[0].json()["job"]
    assert {a.json()["job"] for a in answers} == {job}                     # one export, whoever clicked
    assert sum("message" not in a.json() for a in answers) == 1             # started once, joined five times
    deadline = time.monotonic() + 120
    status = _export_status(admins[1], cluster.urls[1], job)
    while status["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
        status = _export_status(admins[1], cluster.urls[1], job)
    assert status["status"] == "done", status
    assert _export_status(admins[0], cluster.urls[0], job) == status
    files = [admin.get(url + status["download_url"], timeout=30) for admin, url in zip(admins, cluster.urls)]
    assert [f.status_code for f in files] == [200, 200] and files[0].content == files[1].content
    assert files[0].content.startswith(b"%PDF")
    assert cluster.query("SELECT count(*) FROM background_job WHERE kind = 'cards'") == [(1,)]


def _running(pid: int) -> bool:
    """Whether the process is alive (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_card_export_whose_process_is_killed_reads_failed_on_the_other_which_starts_a_new_one(cluster, tmp_path):
    cluster.import_people(tmp_path, 600)          # long enough to be cut off half-way
    admins = [station(url, "admin") for url in cluster.urls]
    job = admins[0].post(f"{cluster.urls[0]}/api/invitations/export", json={"format": "png"}, timeout=30).json()["job"]
    deadline = time.monotonic() + 60
    status = _export_status(admins[1], cluster.urls[1], job)
    while status["done"] == 0 and status["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        status = _export_status(admins[1], cluster.urls[1], job)
    assert status["status"] == "running" and 0 < status["done"] < status["total"], status   # seen from process 1
    workers = _children(cluster.processes[0].process.pid)   # the card renderers it spawned
    assert workers
    cluster.processes[0].kill()
    deadline = time.monotonic() + 30
    while status["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
        status = _export_status(admins[1], cluster.urls[1], job)
    assert status["status"] == "failed" and "Máy chủ dừng khi đang tạo thẻ" in status["error"], status
    # Its renderers did not outlive it (they would wait for work forever on the server).
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _running(pid)]
    again = admins[1].post(f"{cluster.urls[1]}/api/invitations/export", json={"format": "pdf"}, timeout=30).json()
    assert again["job"] != job and "message" not in again
    cluster.processes[0].start()
    # The process that comes back agrees; the cut export's half-written file went when the new one started.
    assert _export_status(admins[0], cluster.urls[0], job)["status"] == "failed"
    deadline = time.monotonic() + 120
    while _export_status(admins[0], cluster.urls[0], again["job"])["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _export_status(admins[0], cluster.urls[0], again["job"])["status"] == "done"
    assert [p.suffix for p in cluster.export_dir.glob("thu-moi-*")] == [".pdf"]


def test_an_import_checked_on_one_process_is_written_from_the_other(cluster):
    from .invitee_files import xlsx_bytes
    admins = [station(url, "admin") for url in cluster.urls]
    rows = [["Hoàng Văn Thụ", "Ông", "Trưởng thôn", "Thôn Nà Pài", "", "", "", "", ""],
            ["", "Bà", "", "Thôn Khuổi Hai", "", "", "", "", ""]]         # a name missing: the file is checked
    upload = admins[0].post(f"{cluster.urls[0]}/admin/invitees/import", files={"file": ("ds.xlsx", xlsx_bytes(rows))},
                            data={"csrf_token": admins[0].headers["X-CSRFToken"]}, allow_redirects=False, timeout=30)
    assert upload.status_code == 303, upload.text
    job = upload.headers["Location"].rsplit("/", 1)[1]
    report = admins[1].get(f"{cluster.urls[1]}/admin/invitees/import/{job}", timeout=10)
    assert report.status_code == 400 and "Chỉ nhập 1 dòng hợp lệ" in report.text
    written = admins[1].post(f"{cluster.urls[1]}/admin/invitees/import",
                             data={"job": job, "csrf_token": admins[1].headers["X-CSRFToken"]}, timeout=30)
    assert written.status_code == 200 and "thêm 1, cập nhật 0, bỏ qua 1 dòng lỗi" in written.text
    assert cluster.query("SELECT count(*) FROM invitee WHERE full_name = 'Hoàng Văn Thụ'") == [(1,)]
