"""nbgrader's `collect`, except that a submission counts only when its owner is the student it names.

In the exchange's inbound folder every student may create files, and a submission's name says
whose it is (`<student>+<assignment>+<timestamp>+<random>`). nbgrader 0.9.6's collect sees a
file named after Ada but owned by Eve, warns "cheating attempt?", and collects it as Ada's
anyway: if it is newer, it replaces Ada's own submission. This plug-in skips such files and
collects the student's latest submission of their own. It is set in the instructor's
~/.jupyter/nbgrader_config.py: c.ExchangeFactory.collect = "owner_checked_collect.OwnerCheckedCollect".
"""
import json
import os
import pwd

from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import Unicode


class OwnerCheckedCollect(ExchangeCollect):
    uid_map = Unicode("", help="A JSON file {user name: uid} for uids that have no /etc/passwd entry "
                               "(Kubernetes pods); empty: use /etc/passwd only").tag(config=True)

    def owner(self, path):
        uid = os.stat(path).st_uid
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            pass
        if self.uid_map:
            with open(self.uid_map, encoding="utf-8") as f:
                names = {number: name for name, number in json.load(f).items()}
            if uid in names:
                return names[uid]
        return f"uid {uid}"

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        owner = self.owner(path)
        record["owned_by_student"] = owner == record["username"]
        if not record["owned_by_student"]:
            self.log.warning("Not collecting %s: it names %s but belongs to %s", path, record["username"], owner)
        return record

    def _sort_by_timestamp(self, records):
        # The student's own submissions first, newest first; nbgrader takes the first.
        return sorted(records, key=lambda r: (r.get("owned_by_student", True), r["timestamp"]), reverse=True)

    def copy_files(self):
        self.src_records = [r for r in self.src_records if r.get("owned_by_student", True)]
        super().copy_files()
