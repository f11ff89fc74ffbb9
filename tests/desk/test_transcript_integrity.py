"""Issue 11, items 3 and 9 on the desk side: the agent reads the whole conversation (also
before a restart or a new session), and the customer's words as the NLU processed them,
not a display text the client chose."""

from __future__ import annotations

from desk.transcript import transcript


def test_desk_asks_rasa_for_every_event_not_only_after_the_last_restart(client_for, queue_handoff, fake_rasa):
    handoff_id = queue_handoff("conv-restarted")
    events = fake_rasa.events["conv-restarted"]
    events += [{"event": "restart"}, {"event": "session_started"}, {"event": "user", "text": "/restart"}]
    zhang = client_for("zhang")
    body = zhang.get(f"/desk/handoffs/{handoff_id}/transcript?after=-1").json()
    tracker_calls = fake_rasa.calls("/conversations/conv-restarted/tracker")
    assert tracker_calls and all(c["query"].get("include_events") == "ALL" for c in tracker_calls)
    assert "我要打12315投诉你们" in [m["text"] for m in body["messages"]]  # said before the restart


def test_client_display_text_does_not_replace_what_the_customer_sent():
    events = [
        {"event": "user", "text": "我要退款，你们太差了", "metadata": {"display_text": "谢谢，问题已解决"}},
        {"event": "user", "text": "/request_human", "metadata": {"display_text": "转人工"}},
    ]
    assert [m["text"] for m in transcript(events)] == ["我要退款，你们太差了", "转人工（/request_human）"]
