"""A TCP proxy on loopback that delays each chunk of data before passing it on, in both
directions, as a database server farther away than the same machine would.

    .venv/bin/python bench/latency_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

asyncio's timers make the delay at least about a millisecond whatever is asked,
so measure the round trip it gives (bench/flow.py reports it) rather than assume it.
"""

import asyncio
import sys


async def _pass_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   delay: float) -> None:
    try:
        while data := await reader.read(65536):
            await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve(listen_port: int, target_port: int, delay: float) -> None:
    async def connect(client_reader: asyncio.StreamReader,
                      client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(_pass_on(client_reader, server_writer, delay),
                             _pass_on(server_reader, client_writer, delay))

    server = await asyncio.start_server(connect, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
