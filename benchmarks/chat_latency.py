"""Chat latency and throughput against a running Kefu (REST channel).

    python benchmarks/chat_latency.py [--url http://127.0.0.1:5005] [--conversations 20] [--turns 6]

Each conversation greets, reports a repair and answers the form (real actions, real
DB writes). Prints p50/p95/max latency per message, messages/s, and the Rasa server's
resident memory if its PID is found. Sends the REST channel's token (KEFU_REST_TOKEN or
var/secrets.json, as the run command gives Rasa). Bounded: stops after --conversations x --turns.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # kefu, when run as a script

SCRIPT = ["你好", "我家空调不制冷了想报修", "型号不知道", "北京市海淀区中关村大街27号3单元501", "13812345678", "明天下午"]


async def conversation(client: httpx.AsyncClient, url: str, turns: int, latencies: list) -> None:
    sender = "bench-" + uuid.uuid4().hex[:8]
    for text in SCRIPT[:turns]:
        started = time.perf_counter()
        r = await client.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
        r.raise_for_status()
        latencies.append(time.perf_counter() - started)


def rasa_rss_mb() -> str:
    out = subprocess.run(["pgrep", "-f", "rasa run --enable-api"], capture_output=True, text=True).stdout.split()
    if not out:
        return "n/a"
    rss_kb = sum(int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0]) for pid in out if pid.isdigit())
    return f"{rss_kb / 1024:.0f} MB"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=len(SCRIPT))
    args = parser.parse_args()
    latencies: list = []
    from kefu import settings  # the REST channel's bearer token (channels/rest.py)

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {settings.get_secret('KEFU_REST_TOKEN')}"}) as client:
        await conversation(client, args.url, 1, [])  # warm-up
        single: list = []
        await conversation(client, args.url, args.turns, single)
        started = time.perf_counter()
        await asyncio.gather(*(conversation(client, args.url, args.turns, latencies) for _ in range(args.conversations)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=20)
    print(f"one conversation: p50 {statistics.median(single) * 1000:.0f} ms over {len(single)} messages")
    print(f"{args.conversations} concurrent conversations: {len(latencies)} messages in {elapsed:.1f} s "
          f"= {len(latencies) / elapsed:.1f} msg/s; p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {q[18] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"Rasa server RSS: {rasa_rss_mb()}")


if __name__ == "__main__":
    asyncio.run(main())
