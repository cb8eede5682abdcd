import Testing
@testable import MeshgateTLS
