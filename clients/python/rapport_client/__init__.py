"""Rapport's Python client: the generated stubs plus a small convenience layer.

The stubs are generated from protos/ by the build (`rapport_python_client`
target) into <build>/clients/python, next to a copy of this package. Use
Debian's interpreter with that directory on the path:

    PYTHONPATH=build/clients/python /usr/bin/python3

    import rapport_client
    from rapport_client import contact_service_pb2, contact_pb2

    channel = rapport_client.connect("127.0.0.1:50051", api_key=None)
    contacts = rapport_client.ContactServiceStub(channel)
    for contact in rapport_client.iter_contacts(contacts, 'tags:"vip"'):
        print(contact.display_name)
"""

import os

import grpc

from rapport.v1 import admin_service_pb2
from rapport.v1 import admin_service_pb2_grpc
from rapport.v1 import contact_pb2
from rapport.v1 import contact_service_pb2
from rapport.v1 import contact_service_pb2_grpc
from rapport.v1 import interaction_pb2
from rapport.v1 import interaction_service_pb2
from rapport.v1 import interaction_service_pb2_grpc
from rapport.v1 import money_pb2

ContactServiceStub = contact_service_pb2_grpc.ContactServiceStub
InteractionServiceStub = interaction_service_pb2_grpc.InteractionServiceStub
AdminServiceStub = admin_service_pb2_grpc.AdminServiceStub

__all__ = [
    "AdminServiceStub", "ContactServiceStub", "InteractionServiceStub",
    "SERVICE_CONFIG_JSON", "admin_service_pb2", "connect", "contact_pb2",
    "contact_service_pb2", "interaction_pb2", "interaction_service_pb2",
    "iter_contacts", "money_pb2",
]

# The retry and load-balancing policy every client ships
# (clients/service_config.json, copied next to this file by the build):
# round-robin over every address of a dns:/// name, and retries of
# UNAVAILABLE with back-off for the idempotent methods. CreateContact and
# LogInteraction are retried too: always give them a request_id.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "service_config.json"), encoding="utf-8") as _f:
    SERVICE_CONFIG_JSON = _f.read()


class _ApiKeyInterceptor(grpc.UnaryUnaryClientInterceptor,
                         grpc.UnaryStreamClientInterceptor,
                         grpc.StreamUnaryClientInterceptor,
                         grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <key>` to every call (works in plaintext)."""

    def __init__(self, api_key):
        self._metadata = ("authorization", "Bearer " + api_key)

    def _add(self, details):
        metadata = list(details.metadata or []) + [self._metadata]
        return details._replace(metadata=metadata) if hasattr(
            details, "_replace") else _Details(details, metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._add(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._add(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._add(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._add(details), requests)


class _Details(grpc.ClientCallDetails):
    def __init__(self, base, metadata):
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


def connect(address, api_key=None, tls=False, root_certificates=None,
            private_key=None, certificate_chain=None):
    """A channel to Rapport at `address` ("host:port" or "dns:///name:port").

    tls: use TLS (root_certificates: PEM bytes of the CA, None for the system
    roots; private_key/certificate_chain: PEM bytes for mutual TLS).
    api_key: sent as "authorization: Bearer <api_key>" on every call.
    """
    options = [("grpc.service_config", SERVICE_CONFIG_JSON),
               ("grpc.enable_retries", 1)]
    if tls:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root_certificates, private_key=private_key,
            certificate_chain=certificate_chain)
        channel = grpc.secure_channel(address, credentials, options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    if api_key:
        channel = grpc.intercept_channel(channel, _ApiKeyInterceptor(api_key))
    return channel


def iter_contacts(stub, filter="", query="", page_size=0, order_by="",
                  show_deleted=False, timeout=30):
    """Yields every contact matching `filter`/`query`, page after page.

    stub: a ContactServiceStub. Raises grpc.RpcError if a page fails.
    """
    request = contact_service_pb2.ListContactsRequest(
        filter=filter, query=query, page_size=page_size, order_by=order_by,
        show_deleted=show_deleted)
    while True:
        page = stub.ListContacts(request, timeout=timeout)
        yield from page.contacts
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token
