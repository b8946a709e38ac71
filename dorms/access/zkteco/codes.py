"""What a ZKTeco panel's event codes and verify types mean (Security PUSH, appendices 2, 3 and 19).

Only a successful open lets a person through, so only those are granted: a card, fingerprint, face or
password open, their combinations, first-card and multi-card opens, and the remote and exit-button opens a
person may be attached to. Refusals (20-99), alarms (100-199) and door or device states are not. A code
this table does not know is kept with its event as sent, not granted, and shown as unknown.

Face and palm opens have no codes of their own: the biometric is in the verify type (15 face, 25 palm…).
"""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Kind(StrEnum):
    OPENED = "opened"  # someone went through: granted
    REFUSED = "refused"
    ALARM = "alarm"
    DOOR = "door"  # door, device and schedule states
    UNKNOWN = "unknown"


KIND_LABELS = {Kind.OPENED: _l("Opened"), Kind.REFUSED: _l("Refused"), Kind.ALARM: _l("Alarm"),
               Kind.DOOR: _l("Door or device state"), Kind.UNKNOWN: _l("Unknown event code")}

_OPENED = {
    0: _l("Opened after verification"), 1: _l("Verified during a normal-open period"),
    2: _l("First user opened the door"), 3: _l("Opened by several users"), 4: _l("Opened with the emergency password"),
    5: _l("Opened during a normal-open period"), 8: _l("Opened remotely"), 14: _l("Opened by fingerprint"),
    15: _l("Opened by several users (fingerprint)"), 16: _l("Fingerprint during a normal-open period"),
    17: _l("Opened by card and fingerprint"), 18: _l("First user opened the door (fingerprint)"),
    19: _l("First user opened the door (card and fingerprint)"), 202: _l("Opened with the exit button"),
    203: _l("Opened by several users (card and fingerprint)"), 207: _l("Opened by password"),
    208: _l("Opened by the super user"), 215: _l("First card opened the door by password"),
    216: _l("Password during a normal-open period"), 218: _l("Passed by identity card"),
    219: _l("Verified while the exit button is normal-open"), 222: _l("Remote identification succeeded"),
    232: _l("Passed the verification"),
}
_REFUSED = {
    20: _l("Too short an interval between verifications"), 21: _l("Verified outside the door's valid period"),
    22: _l("Invalid time period"), 23: _l("Access denied"), 24: _l("Anti-passback"), 25: _l("Interlock"),
    26: _l("Waiting for the other users' verification"), 27: _l("Not registered on the device"),
    28: _l("Door opening timed out"), 29: _l("Access expired"), 30: _l("Wrong password"),
    31: _l("Too short an interval between verifications"), 32: _l("Waiting for the other users' verification"),
    33: _l("Access expired"), 34: _l("Not registered on the device"),
    35: _l("Verified outside the door's valid period"),
    36: _l("Exit button outside the valid period"), 37: _l("Door could not close during a normal-open period"),
    38: _l("Card reported lost"), 39: _l("Blacklisted"), 40: _l("Multi-user verification failed"),
    41: _l("Wrong verification mode"), 42: _l("Wrong Wiegand format"), 43: _l("User under watch"),
    44: _l("Remote identification failed"), 45: _l("Remote identification timed out"),
    47: _l("Failed to send the command"), 48: _l("Multi-user verification failed"),
    49: _l("Verified outside the door's valid period"), 50: _l("Too short an interval between verifications"),
    51: _l("Waiting for the other users' verification"), 52: _l("Multi-user verification failed"),
    53: _l("Access expired"), 54: _l("Battery voltage too low"), 55: _l("Replace the battery now"),
    56: _l("Unauthorised operation"), 57: _l("Running on backup power"), 58: _l("Normal-open alarm"),
    59: _l("Unauthorised administrator"), 60: _l("Door locked from inside"), 61: _l("Repeated verification"),
    62: _l("User not allowed"), 63: _l("Door locked"), 64: _l("Exit button outside its period"),
    65: _l("Auxiliary input outside its period"), 66: _l("Reader upgrade failed"),
    67: _l("Remote comparison succeeded but the device is not authorised"),
    68: _l("High body temperature: access denied"), 69: _l("No mask: access denied"),
    70: _l("Face server unreachable"), 71: _l("Face server answered abnormally"), 72: _l("Call unanswered"),
    73: _l("Invalid QR code"), 74: _l("QR code expired"), 75: _l("Combined verification timed out"),
    76: _l("Cannot read fingerprints in TITAN mode"), 77: _l("Network cable unplugged"),
    78: _l("Hotspot disconnected"), 79: _l("Mobile network disconnected"),
    80: _l("Elevator floor button pressed without permission"),
}
_ALARMS = {
    100: _l("Tamper alarm"), 101: _l("Opened with the duress password"), 102: _l("Door opened accidentally"),
    103: _l("Opened with the duress fingerprint"), 104: _l("Invalid card alarm"), 105: _l("Server connection lost"),
    106: _l("Battery power failure"), 107: _l("Mains power failure"), 108: _l("Main controller connection lost"),
    109: _l("Reader removed"), 110: _l("Reader offline"), 111: _l("PoE power lost"), 112: _l("Extension board offline"),
    113: _l("Illegal security level"), 114: _l("Fire alarm input disconnected"),
    115: _l("Fire alarm input short-circuited"), 116: _l("Auxiliary input disconnected"),
    117: _l("Auxiliary input short-circuited"), 118: _l("Exit button disconnected"),
    119: _l("Exit button short-circuited"), 120: _l("Door sensor disconnected"),
    121: _l("Door sensor short-circuited"), 132: _l("Elevator emergency state cancelled"),
    133: _l("Elevator emergency state cannot be cancelled"), 134: _l("Elevator restricted"),
    150: _l("Elevator manual button short-circuited"), 151: _l("Elevator manual button disconnected"),
    152: _l("Elevator emergency button short-circuited"), 153: _l("Elevator emergency button disconnected"),
    154: _l("Elevator fire button short-circuited"), 155: _l("Elevator fire button disconnected"),
}
_DOOR = {
    6: _l("Linkage triggered"), 7: _l("Alarm cancelled"), 9: _l("Closed remotely"),
    10: _l("Normal-open period disabled for the day"), 11: _l("Normal-open period enabled for the day"),
    12: _l("Auxiliary output enabled remotely"), 13: _l("Auxiliary output disabled remotely"),
    200: _l("Door open"), 201: _l("Door closed"), 204: _l("Normal-open period ended"),
    205: _l("Normal open enabled remotely"), 206: _l("Device started"), 209: _l("Exit button pressed (locked)"),
    210: _l("Fire door opening started"), 211: _l("Super user closed the door"),
    212: _l("Elevator control enabled"), 213: _l("Elevator control disabled"),
    214: _l("Connected to the server"), 217: _l("Connected to the main controller"),
    220: _l("Auxiliary input disconnected"), 221: _l("Auxiliary input short-circuited"),
    223: _l("Remote identification"), 224: _l("Doorbell"), 225: _l("Auxiliary input normal"),
    226: _l("Auxiliary input triggered"), 227: _l("Door in dual-open mode"), 228: _l("Door in dual-closed mode"),
    229: _l("Auxiliary output normal open started"), 230: _l("Auxiliary output normal open ended"),
    231: _l("Camera linkage"), 233: _l("Locked remotely"), 234: _l("Unlocked remotely"),
    235: _l("Reader upgraded"), 236: _l("Reader removal alarm cleared"), 237: _l("Reader online"),
    239: _l("Device call"), 240: _l("Call ended"), 241: _l("Linked capture"), 242: _l("Linked recording"),
    243: _l("Fire alarm input disconnected"), 244: _l("Fire alarm input short-circuited"),
    245: _l("Connected to the hotspot"), 246: _l("Mobile network connected"), 247: _l("Extension board online"),
    248: _l("Network cable plugged in"), 249: _l("Elevator direct button"),
    250: _l("Elevator floor button pressed with permission"), 251: _l("Elevator button cancelled by voice"),
    252: _l("Elevator button pressed by voice"), 255: _l("Door and alarm state"),
    # Turnstiles' extended events: 4000s normal, 5000s faults, 6000s warnings.
    4000: _l("Fire normal-open ended"), 4001: _l("Personnel communication normal"),
    5000: _l("Clutch fault"), 5001: _l("Fire control board fault"), 5002: _l("Fire control board lost power"),
    5003: _l("Power supply fault"), 5004: _l("Signal synchronisation fault"), 5005: _l("Motor current too high"),
    5006: _l("Main board current too high"), 5007: _l("Main board overloaded"),
    5008: _l("Continuous opening signal"), 5009: _l("Voice loading fault"), 5010: _l("Slave unit offline"),
    5011: _l("Slave unit interface disconnected"), 5012: _l("Belt broken"), 5013: _l("Opening solenoid fault"),
    5014: _l("Drop-arm solenoid fault"), 5015: _l("Arm cannot be raised"), 5016: _l("Arm cannot be dropped"),
    6000: _l("Fire normal-open started"),
}
EVENTS: dict[int, tuple[Kind, object]] = {
    **{code: (Kind.OPENED, label) for code, label in _OPENED.items()},
    **{code: (Kind.REFUSED, label) for code, label in _REFUSED.items()},
    **{code: (Kind.ALARM, label) for code, label in _ALARMS.items()},
    **{code: (Kind.DOOR, label) for code, label in _DOOR.items()},
}

VERIFY = {
    0: _l("Automatic (face, fingerprint, card or password)"), 1: _l("Fingerprint"), 2: _l("User ID"),
    3: _l("Password"), 4: _l("Card"), 5: _l("Fingerprint or password"), 6: _l("Fingerprint or card"),
    7: _l("Card or password"), 8: _l("User ID and fingerprint"), 9: _l("Fingerprint and password"),
    10: _l("Card and fingerprint"), 11: _l("Card and password"), 12: _l("Fingerprint, password and card"),
    13: _l("User ID, fingerprint and password"), 14: _l("User ID or card, with fingerprint"), 15: _l("Face"),
    16: _l("Face and fingerprint"), 17: _l("Face and password"), 18: _l("Face and card"),
    19: _l("Face, fingerprint and card"), 20: _l("Face, fingerprint and password"), 21: _l("Finger vein"),
    22: _l("Finger vein and password"), 23: _l("Finger vein and card"), 24: _l("Finger vein, password and card"),
    25: _l("Palm"), 200: _l("Other"),
}
# The newer form (NewVFStyles): 16 bits, the rightmost first; bit 0 says "and" (1) or "or" (0).
VERIFY_BITS = {1: _l("Face"), 2: _l("Palm print"), 3: _l("Palm vein"), 4: _l("Fingerprint"), 5: _l("Finger vein"),
               6: _l("Voice"), 7: _l("Iris"), 8: _l("Retina"), 9: _l("Password"), 10: _l("User ID"), 11: _l("Card")}


def _known(code: str | int | None) -> tuple[Kind, object] | None:
    """The table's entry for a code as a panel writes it: plain ASCII digits ("٣" or "+0" are no code)."""
    text = str(code).strip() if code is not None else ""
    return EVENTS.get(int(text)) if text.isascii() and text.isdigit() else None


def event_kind(code: str | int | None) -> Kind:
    return entry[0] if (entry := _known(code)) else Kind.UNKNOWN


def granted(code: str | int | None) -> bool:
    """Whether a panel event let someone through."""
    return event_kind(code) == Kind.OPENED


def event_label(code: str | int | None) -> str:
    return str(entry[1]) if (entry := _known(code)) else str(KIND_LABELS[Kind.UNKNOWN])


def verify_label(value: str | None) -> str:
    """How the person was verified, from a verify type as either form writes it ("15", "0000000000000010");
    "" when there is none, the value itself when it is neither form."""
    text = (value or "").strip()
    if len(text) == 16 and set(text) <= {"0", "1"}:
        names = [str(label) for bit, label in VERIFY_BITS.items() if text[-1 - bit] == "1"]
        return (" + " if text[-1] == "1" else " / ").join(names) or text
    try:
        return str(VERIFY[int(text)])
    except (KeyError, ValueError):
        return text
