"""The front desk: the staff day book, booking callers, moves, arrivals and the call list.

Staff in the "Front desk" group (appointments migration 0016) work here; every write goes
through the same services as the public site and the admin (appointments.services,
appointments.visits, clients.services), behind the same back-walking gate. Nothing here
shows health answers: statuses, and which rule refused, in staff words (wording.py).

- access.py: who may open these pages;
- day_book.py, work_list.py, clients.py: the reads, each in a fixed number of queries;
- calls.py: recording a call to a flagged client;
- wording.py: every refusal in staff words;
- forms.py, views.py, urls.py: HTTP.
"""
