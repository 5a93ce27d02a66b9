"""The Zhongtai SDK: call a gateway's capabilities from Python, with typed answers, retries and
idempotency keys set for you.

    from zhongtai.client import Client

    with Client("http://127.0.0.1:8700", "zt_...") as zt:
        answer = zt.decide("churn-risk", customer_id=100005)
        print(answer.decision, answer.score, answer.factors[0].feature)

It needs httpx and nothing else of the platform: it imports no server package (tests/client/ checks that),
so a business system can install it without the gateway's dependencies.
"""

from zhongtai.client.answers import BatchResult, CapabilityInfo, Decision, Factor, ItemError, ModelRef
from zhongtai.client.async_client import AsyncClient
from zhongtai.client.errors import (
    ApiError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    ZhongtaiClientError,
)
from zhongtai.client.retry import Retry
from zhongtai.client.sync_client import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "BatchResult",
    "CapabilityInfo",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Decision",
    "Factor",
    "Forbidden",
    "InvalidRequest",
    "ItemError",
    "ModelRef",
    "NotFound",
    "RateLimited",
    "Retry",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "ZhongtaiClientError",
]
