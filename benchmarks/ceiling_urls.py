"""The product's URLs plus /ceiling/: the least a Django view on our stack can do for one MCP call.

The view reads the JSON-RPC body, validates the request with the official wire types (mcp-types) for
the protocol version of the header, and answers a small fixed tools/call result: no authentication,
no database, no audit. Served by the same gunicorn configuration and middleware as the product, it is
the throughput ceiling of the stack that compare_sdk.py sets the product against.
"""

import json

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from mcp_types import methods as wire

from stellar_mcp_site.urls import urlpatterns as product_urlpatterns

_RESULT = {"content": [{"type": "text", "text": "{\"ok\":true}"}], "structuredContent": {"ok": True}, "isError": False}


@csrf_exempt
def ceiling(request):
    message = json.loads(request.body)
    version = request.headers.get("MCP-Protocol-Version") or "2025-03-26"
    wire.validate_client_request(message["method"], version, message.get("params"))
    body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": _RESULT}, separators=(",", ":"))
    return HttpResponse(body, content_type="application/json")


urlpatterns = [path("ceiling/", ceiling), *product_urlpatterns]
