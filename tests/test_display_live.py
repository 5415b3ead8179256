"""The real server on a port: a restart never leaves a screen wrong, and two operators pressing
"next" on the same item advance the programme once."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from .conftest import app_config
from .display_helpers import Screen, Staff, wait_until
from .live import LiveServer

pytestmark = pytest.mark.live


def test_a_restart_keeps_the_item_its_rev_and_its_real_start(data_dir):
    config = app_config(data_dir)
    server = LiveServer(config).start()
    port = server.port
    restarted = None
    screen = Screen()
    try:
        mc = Staff(server.url)
        assert mc.act("next", expected_index=-1).status_code == 200
        time.sleep(0.05)
        before = mc.act("next", expected_index=0).json()
        screen.connect(server.url)
        screen.wait_for(lambda s: s["rev"] == before["rev"], message="the state before the restart")

        server.stop()
        wait_until(lambda: screen.disconnects >= 1, message="the screen to notice the server went away")
        received_before = screen.count()
        restarted = LiveServer(config, port=port).start()
        # The same python-socketio client reconnects by itself and gets the whole state on connect.
        after = screen.wait_for(lambda s: screen.count() > received_before, timeout=10,
                                message="the snapshot after the restart")
        wait_until(lambda: screen.connects >= 2, message="the reconnection")
        assert after["current_index"] == before["current_index"] == 1
        assert after["current_item_id"] == before["current_item_id"]
        assert after["rev"] == before["rev"]
        assert after["started_at"] == before["started_at"]          # the timer continues from its real start
        assert after["items"][0]["actual_start"] == before["items"][0]["actual_start"]

        timing = requests.get(restarted.url + "/api/agenda/timing", timeout=5).json()
        assert timing["elapsed_s"] >= int((timing["server_time"] - before["started_at"]) / 1000) - 1

        # A new login on the new server continues the same lineage.
        mc = Staff(restarted.url)
        assert mc.act("next", expected_index=0).status_code == 409
        assert mc.act("next", expected_index=1).status_code == 200
        latest = screen.wait_for(lambda s: s["rev"] == before["rev"] + 1, message="the next change")
        assert latest["current_index"] == 2 and latest["started_at"] > before["started_at"]
        revs = [s["rev"] for s in screen.states]
        assert revs == sorted(revs), revs                            # rev never went backwards
    finally:
        screen.close()
        if restarted is not None:
            restarted.stop()
        else:
            server.stop()


def test_two_operators_pressing_next_on_the_same_item_advance_once(live_server):
    screen = Screen().connect(live_server.url)
    operators = [Staff(live_server.url), Staff(live_server.url, role="admin")]
    try:
        for expected in range(-1, 6):
            barrier = threading.Barrier(len(operators))
            statuses: list[int] = []

            def press(staff):
                barrier.wait()
                statuses.append(staff.act("next", expected_index=expected).status_code)
            threads = [threading.Thread(target=press, args=(staff,)) for staff in operators]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=10)
            assert sorted(statuses) == [200, 409], (expected, statuses)
            state = operators[0].state()
            assert state["current_index"] == expected + 1 and state["rev"] == expected + 2
        # Every screen saw each item once, in order, and no item was skipped.
        screen.wait_for(lambda s: s["rev"] == 7, message="the last push")
        seen = [s["current_index"] for s in screen.states if s["rev"] > 0]
        assert seen == list(range(0, 7))
    finally:
        screen.close()


def _raw_socket(url: str, namespace: str, cookie: str | None = None) -> list[str]:
    """What a minimal Socket.IO client that keeps no buffer sees: the Engine.IO handshake, then, after it
    asks to join `namespace`, the next two frames, in order."""
    import simple_websocket
    ws = simple_websocket.Client.connect(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                                         headers={"Cookie": cookie} if cookie else None)
    try:
        assert ws.receive(timeout=5).startswith("0{")     # Engine.IO open
        ws.send(f"40{namespace},")
        return [ws.receive(timeout=5) for _ in range(2)]
    finally:
        ws.close()


def test_the_first_state_follows_the_namespace_acknowledgement(live_server):
    """A screen's first frame after joining /display is the join's acknowledgement, then the whole state."""
    Staff(live_server.url).act("next", expected_index=-1)
    ack, first = _raw_socket(live_server.url, "/display")
    assert ack.startswith('40/display,{"sid":')
    assert first.startswith('42/display,["state",')
    assert '"current_index":0' in first


def test_an_mc_page_gets_its_screen_list_after_the_acknowledgement(live_server):
    mc = Staff(live_server.url)
    cookie = "; ".join(f"{k}={v}" for k, v in mc.http.cookies.items())
    ack, first = _raw_socket(live_server.url, "/mc", cookie)
    assert ack.startswith('40/mc,{"sid":')
    assert first.startswith('42/mc,["screens",')
