from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PluginArtifact(_message.Message):
    __slots__ = ("name", "configuration", "connection_timeout_seconds", "key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    configuration: str
    connection_timeout_seconds: int
    key: str
    def __init__(self, name: _Optional[str] = ..., configuration: _Optional[str] = ..., connection_timeout_seconds: _Optional[int] = ..., key: _Optional[str] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("name", "path", "mode", "plugin", "optional", "sub_path", "recurse_mode", "from_expression", "deleted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    SUB_PATH_FIELD_NUMBER: _ClassVar[int]
    RECURSE_MODE_FIELD_NUMBER: _ClassVar[int]
    FROM_EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    mode: int
    plugin: PluginArtifact
    optional: bool
    sub_path: str
    recurse_mode: bool
    from_expression: str
    deleted: bool
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., mode: _Optional[int] = ..., plugin: _Optional[_Union[PluginArtifact, _Mapping]] = ..., optional: _Optional[bool] = ..., sub_path: _Optional[str] = ..., recurse_mode: _Optional[bool] = ..., from_expression: _Optional[str] = ..., deleted: _Optional[bool] = ..., **kwargs) -> None: ...

class LoadArtifactRequest(_message.Message):
    __slots__ = ("input_artifact", "path")
    INPUT_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    input_artifact: Artifact
    path: str
    def __init__(self, input_artifact: _Optional[_Union[Artifact, _Mapping]] = ..., path: _Optional[str] = ...) -> None: ...

class LoadArtifactResponse(_message.Message):
    __slots__ = ("success", "error")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    success: bool
    error: str
    def __init__(self, success: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class OpenStreamRequest(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class OpenStreamResponse(_message.Message):
    __slots__ = ("data", "is_end", "error")
    DATA_FIELD_NUMBER: _ClassVar[int]
    IS_END_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    is_end: bool
    error: str
    def __init__(self, data: _Optional[bytes] = ..., is_end: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class SaveArtifactRequest(_message.Message):
    __slots__ = ("path", "output_artifact")
    PATH_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    path: str
    output_artifact: Artifact
    def __init__(self, path: _Optional[str] = ..., output_artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class SaveArtifactResponse(_message.Message):
    __slots__ = ("success", "error")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    success: bool
    error: str
    def __init__(self, success: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class DeleteArtifactRequest(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class DeleteArtifactResponse(_message.Message):
    __slots__ = ("success", "error")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    success: bool
    error: str
    def __init__(self, success: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class ListObjectsRequest(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class ListObjectsResponse(_message.Message):
    __slots__ = ("objects", "error")
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    objects: _containers.RepeatedScalarFieldContainer[str]
    error: str
    def __init__(self, objects: _Optional[_Iterable[str]] = ..., error: _Optional[str] = ...) -> None: ...

class IsDirectoryRequest(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class IsDirectoryResponse(_message.Message):
    __slots__ = ("is_directory", "error")
    IS_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    is_directory: bool
    error: str
    def __init__(self, is_directory: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class SaveStreamArtifactRequest(_message.Message):
    __slots__ = ("output_artifact", "chunk")
    OUTPUT_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    output_artifact: Artifact
    chunk: bytes
    def __init__(self, output_artifact: _Optional[_Union[Artifact, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCapabilitiesResponse(_message.Message):
    __slots__ = ("supports_save_stream",)
    SUPPORTS_SAVE_STREAM_FIELD_NUMBER: _ClassVar[int]
    supports_save_stream: bool
    def __init__(self, supports_save_stream: _Optional[bool] = ...) -> None: ...
