# SPDX-License-Identifier: GPL-2.0
"""The benchmark's server: aiosmtpd that only counts mails (into a file)."""
import os
import sys
import time

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self, path):
        self.path = path
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        with open(self.path + ".tmp", "w") as f:
            f.write("%d\n" % self.n)
        os.replace(self.path + ".tmp", self.path)
        return "250 OK"


host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctl = Controller(Counter(path), hostname=host, port=port)
ctl.start()
while True:
    time.sleep(3600)
