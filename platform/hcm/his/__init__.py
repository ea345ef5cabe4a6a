"""The hospital information system (HIS): the contract the platform relies on, an HTTP
adapter for real HISes, and a fake HIS server for tests and demos.

Callers import from hcm.his.contract: `adapter_for(hospital)` and the values and errors.
"""
