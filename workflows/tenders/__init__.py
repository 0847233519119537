"""The ``tenders`` workflow: watch TED and BOAMP, rank what fits, draft the answers."""
