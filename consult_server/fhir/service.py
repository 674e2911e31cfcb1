"""Reading a consult's whole record for a FHIR export, for those who may read it.

Every export is audited ("export", with the bundle's size): a bundle holds everything.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import User
from consult_server.attachments.repository import AttachmentRepository
from consult_server.audit.chain import Actor, AuditLog
from consult_server.bookings.repository import BookingRepository
from consult_server.consults.models import ConsultFacts
from consult_server.consults.service import Consults
from consult_server.fhir.bundle import build_bundle
from consult_server.fhir.record import ConsultRecord
from consult_server.notes.service import Notes
from recordings.catalog import RecordingCatalog


class FhirExport:
    def __init__(
        self,
        consults: Consults,
        accounts: Accounts,
        attachments: AttachmentRepository,
        notes: Notes,
        catalog: RecordingCatalog,
        audit: AuditLog,
        bookings: BookingRepository | None = None,
        base_url: str = "",
    ) -> None:
        self.consults = consults
        self.accounts = accounts
        self.attachments = attachments
        self.notes = notes
        self.catalog = catalog
        self.audit = audit
        self.bookings = bookings
        #: ``server.public_url``: links to files and recordings are absolute from it.
        self.base_url = base_url.rstrip("/")

    async def record(self, facts: ConsultFacts) -> ConsultRecord:
        consult = facts.consult
        chat = await self.consults.store.chat(consult.id)
        people_ids = set(facts.participants) | {line.author_id for line in chat}
        people = await self.accounts.users(people_ids)
        facility_ids = {consult.facility_id} | {p.facility_id for p in people.values()}
        facilities = {f.id: f for f in await self.accounts.facilities() if f.id in facility_ids}
        return ConsultRecord(
            facts=facts,
            people=people,
            facilities=facilities,
            attachments=await self.attachments.of_consult(consult.id),
            recordings=await self.catalog.of_consult(consult.id),
            chat=chat,
            note=[v for v in await self.notes.versions(consult.id) if v.signed],
            booking=await self.bookings.of_consult(consult.id) if self.bookings else None,
            base_url=self.base_url,
        )

    async def for_user(self, user: User, actor: Actor, consult_id: int) -> dict[str, Any]:
        """The bundle, for someone who may read the consult (404 for anyone else)."""
        facts = await self.consults.readable(user, consult_id)
        return await self._export(facts, actor)

    async def for_system(self, consult_id: int) -> dict[str, Any]:
        """The bundle, for the operator's command line (audited as the system's)."""
        stored = await self.consults.store.load(consult_id)
        if stored is None:
            raise LookupError(consult_id)
        facts = await self.consults.facts(stored.consult)
        return await self._export(facts, Actor.system("export-fhir"))

    async def _export(self, facts: ConsultFacts, actor: Actor) -> dict[str, Any]:
        bundle = build_bundle(await self.record(facts), time.time())
        await self.audit.append(
            actor, "export", f"consult:{facts.consult.id}", {"entries": len(bundle["entry"])}
        )
        return bundle


FHIR_EXPORT: AppKey[FhirExport] = AppKey("fhir_export")
