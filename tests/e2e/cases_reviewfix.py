# SPDX-License-Identifier: GPL-2.0
# Fixes of the adversarial review, beyond its own reproducers
# (cases_review.py): the failure line's escaping of the server's text.


def test_reviewfix_failure_line_quotes_escaped():
    """A server's text that ends its quotes and forges the line's next
    fields: '"' and '\\' come out as \\xHH, the line keeps its shape."""
    mark = kernel_log_since()[1]
    rcpt_refused(2583, b'550 no", permanent: ok \\ forged\r\n')
    line = wait_log(r"ksmtp: sent mail \d+ not sent", since=mark)
    assert re.search(r'ksmtp: sent mail \d+ not sent: phase RCPT, code 550, text '
                     r'"no\\x22, permanent: ok \\x5c forged", permanent: ', line), line
