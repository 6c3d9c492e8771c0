"""Writes signed Twilio SMS webhook calls for the load bench, one "<signature>\t<body>"
line each: realistic parameters, a MessageSid of its own, 1,000 customers' numbers.

    python3 scripts/wrk/twilio-sms-forms.py COUNT URL ACCOUNT_SID AUTH_TOKEN RUN > FILE
"""

import base64
import hashlib
import hmac
import sys
from urllib.parse import urlencode


def main() -> None:
    count, url, account, token, run = sys.argv[1:6]
    run_hex = f"{int(run) % (1 << 32):08x}"
    for i in range(int(count)):
        customer = i * 7 % 1000
        sid = f"SM{run_hex}{i:024x}"
        params = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "SAN FRANCISCO",
            "FromZip": "94105",
            "SmsSid": sid,
            "FromState": "CA",
            "SmsStatus": "received",
            "FromCity": "SAN FRANCISCO",
            "Body": f"Hello, my order #{i} has not arrived \U0001f4e6",
            "FromCountry": "US",
            "To": "+14155550100",
            "ToZip": "94105",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": account,
            "From": f"+1415555{customer:04d}",
            "ApiVersion": "2010-04-01",
        }
        signed = url + "".join(k + v for k, v in sorted(params.items()))
        digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
        print(base64.b64encode(digest).decode() + "\t" + urlencode(params))


if __name__ == "__main__":
    main()
