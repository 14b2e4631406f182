#!/usr/bin/python3
"""Creates a contact, lists the VIPs and logs a purchase.

PYTHONPATH=build/clients/python /usr/bin/python3 \
    clients/python/examples/quickstart.py --target 127.0.0.1:50051
"""
import argparse
import os
import uuid

import rapport_client
from rapport_client import contact_pb2, contact_service_pb2
from rapport_client import interaction_pb2, interaction_service_pb2, money_pb2


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--api-key", default=os.environ.get("RAPPORT_API_KEY"))
    args = parser.parse_args()

    channel = rapport_client.connect(args.target, api_key=args.api_key)
    contacts = rapport_client.ContactServiceStub(channel)
    interactions = rapport_client.InteractionServiceStub(channel)

    ada = contacts.CreateContact(contact_service_pb2.CreateContactRequest(
        contact=contact_pb2.Contact(
            given_name="Ada", family_name="Lovelace",
            emails=[f"ada+{uuid.uuid4().hex[:8]}@example.com"], tags=["vip"],
            lifecycle_stage=contact_pb2.CUSTOMER),
        request_id=str(uuid.uuid4())), timeout=10)
    print("created", ada.id)

    for contact in rapport_client.iter_contacts(
            contacts, filter='tags:"vip"', page_size=100):
        print("vip:", contact.id, contact.given_name, contact.family_name)

    purchase = interactions.LogInteraction(
        interaction_service_pb2.LogInteractionRequest(
            interaction=interaction_pb2.Interaction(
                contact_id=ada.id, type=interaction_pb2.PURCHASE,
                subject="First order",
                amount=money_pb2.Money(currency_code="EUR", amount_minor=4999)),
            request_id=str(uuid.uuid4())), timeout=10)
    print("logged", purchase.id)


if __name__ == "__main__":
    main()
