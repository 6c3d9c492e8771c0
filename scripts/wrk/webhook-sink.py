#!/usr/bin/env python3
"""A fast webhook endpoint for scripts/bench: answers every request 200 at once, over
keep-alive connections, and writes how many it got to COUNT_FILE every 100 ms.

    webhook-sink.py COUNT_FILE       (prints "listening on http://127.0.0.1:PORT")
"""

import asyncio
import sys

count = 0


class Sink(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        global count
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = 0
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            count += 1
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")


async def report(path):
    while True:
        with open(path + ".tmp", "w") as f:
            f.write(str(count))
        import os

        os.replace(path + ".tmp", path)
        await asyncio.sleep(0.1)


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await asyncio.gather(server.serve_forever(), report(sys.argv[1]))


asyncio.run(main())
