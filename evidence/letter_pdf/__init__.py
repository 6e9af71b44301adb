"""The custody letter as a signed PDF: a page people read, a file machines check.

Shared by every evidence service (deposits now; captures and draws next). The pure
parts (:mod:`.facts`) say what a letter's page shows; :mod:`.render`, :mod:`.qr` and
:mod:`.attach` make the page and carry the credential; :mod:`.sign` signs the whole
file PAdES-B-T (ETSI EN 319 142-1) with the notary's document-signing certificate
(:mod:`.signing_keys`, its fingerprint published on chain by :mod:`.publication`);
:mod:`.verify` checks one; :mod:`.build` is the one call that makes one.
"""
