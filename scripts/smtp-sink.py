"""An SMTP server that keeps what it receives: each message as <n>.eml in a folder.

    .venv/bin/python scripts/smtp-sink.py DIR [--port N] [--refuse ADDRESS]...

Listens on loopback (a free port unless --port) and prints the port on the first line of stdout. Refuses
(550 5.1.1) any recipient given with --refuse, to show how a relay's refusal looks.
The email scenarios start it; it also works by hand next to `switchboard serve`.
"""

import argparse
import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP


class Keep:
    def __init__(self, folder, refused):
        self.folder = folder
        self.refused = {r.lower() for r in refused}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 <%s>: recipient address rejected: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.folder, "%05d.eml" % self.count)
        # Written whole, then renamed: a reader never sees half a message.
        with open(name + ".part", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(name + ".part", name)
        return "250 OK: kept as %s" % os.path.basename(name)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refuse", action="append", default=[])
    args = parser.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    handler = Keep(args.folder, args.refuse)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", decode_data=False),
        "127.0.0.1",
        args.port,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
