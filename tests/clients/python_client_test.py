#!/usr/bin/python3
"""End-to-end test of the Python client (rapport_client) against rapportd.

Run by python_client_test (python_client_test_launcher.cc), which starts
rapportd and passes --target. Needs the generated package on PYTHONPATH.
"""
import argparse
import sys
import unittest
import uuid

import grpc

import rapport_client
from rapport_client import contact_pb2, contact_service_pb2
from rapport_client import interaction_pb2, interaction_service_pb2, money_pb2

TARGET = None
API_KEY = None


class PythonClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.channel = rapport_client.connect(TARGET, api_key=API_KEY)
        cls.contacts = rapport_client.ContactServiceStub(cls.channel)
        cls.interactions = rapport_client.InteractionServiceStub(cls.channel)
        cls.tag = "py" + uuid.uuid4().hex[:8]

    def create(self, i):
        return self.contacts.CreateContact(
            contact_service_pb2.CreateContactRequest(
                contact=contact_pb2.Contact(
                    given_name=f"Py{i}", emails=[f"py{i}.{self.tag}@example.com"],
                    tags=[self.tag]),
                request_id=str(uuid.uuid4())), timeout=10)

    def test_create_and_list_with_pagination(self):
        created = [self.create(i).id for i in range(7)]
        page = self.contacts.ListContacts(
            contact_service_pb2.ListContactsRequest(
                filter=f'tags:"{self.tag}"', page_size=3), timeout=10)
        self.assertEqual(len(page.contacts), 3)
        self.assertTrue(page.next_page_token)
        listed = [c.id for c in rapport_client.iter_contacts(
            self.contacts, filter=f'tags:"{self.tag}"', page_size=3)]
        self.assertEqual(sorted(listed), sorted(created))

    def test_import_stream(self):
        tag = self.tag + "imp"

        def batches():
            for start in range(0, 1200, 500):
                yield contact_service_pb2.ImportContactsRequest(contacts=[
                    contact_pb2.Contact(
                        given_name=f"Imp{i}", tags=[tag],
                        emails=[f"imp{i}.{tag}@example.com" if i != 10
                                else "not-an-email@"])
                    for i in range(start, min(start + 500, 1200))])

        response = self.contacts.ImportContacts(batches(), timeout=60)
        self.assertEqual(response.received_count, 1200)
        self.assertEqual(response.created_count, 1199)
        self.assertEqual(response.failed_count, 1)
        self.assertEqual(response.errors[0].index, 10)
        self.assertEqual(
            sum(1 for _ in rapport_client.iter_contacts(
                self.contacts, filter=f'tags:"{tag}"', page_size=1000)), 1199)

    def test_log_interaction(self):
        contact = self.create(100)
        logged = self.interactions.LogInteraction(
            interaction_service_pb2.LogInteractionRequest(
                interaction=interaction_pb2.Interaction(
                    contact_id=contact.id, type=interaction_pb2.PURCHASE,
                    amount=money_pb2.Money(currency_code="EUR",
                                           amount_minor=1999)),
                request_id=str(uuid.uuid4())), timeout=10)
        self.assertEqual(logged.contact_id, contact.id)

    def test_not_found(self):
        contact = self.create(200)
        self.contacts.EraseContact(
            contact_service_pb2.EraseContactRequest(id=contact.id), timeout=10)
        with self.assertRaises(grpc.RpcError) as raised:
            self.contacts.GetContact(
                contact_service_pb2.GetContactRequest(id=contact.id),
                timeout=10)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.NOT_FOUND)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--api-key", required=True)
    args, rest = parser.parse_known_args()
    TARGET = args.target
    API_KEY = args.api_key
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
